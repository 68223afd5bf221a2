"""Layer Lab's widgets and views (the page is app_pages/lab.py; the engine is inspector.lab)."""
