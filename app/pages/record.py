import streamlit as st

st.title('Record')
