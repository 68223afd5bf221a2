"""Model Builder's state, widgets and views (the page is app_pages/builder.py; the engine is inspector.builder)."""
