"""Tradeoff Room's engine: everything the app can do, without a browser.

Nothing in this package imports streamlit, so the CLI, workers and tests share one code path.
"""

__version__ = "0.1.0"
