"""Checkpoint Inspector's views (the page is app_pages/checkpoint.py; the engine is inspector.checkpoint)."""
