"""Streamlit-side helpers of the app: shared sidebar, widgets per argument kind, URL state, errors.

Everything here may import streamlit; `inspector/` never does. Pages stay thin by calling these.
"""
