import streamlit as st

st.title('Browse')
