"""Model Inspector's widgets and views (the page is app_pages/model.py; the engine is inspector.model)."""
