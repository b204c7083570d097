"""Chalice blueprints, one per area; app.py registers them."""
