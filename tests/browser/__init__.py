"""Browser tests: headless Chromium against the demo page and JupyterLab."""
