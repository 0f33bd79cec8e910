"""MIRA Curator core: domain logic and storage. Never imports streamlit."""

__all__ = ["__version__"]
__version__ = "0.1.0"
