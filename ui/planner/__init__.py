"""Training Planner's widgets and views (the page is app_pages/planner.py; the engine is inspector.planner)."""
