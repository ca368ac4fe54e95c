"""Notebook-facing layer: widgets, charts, experiments (layer 3)."""
