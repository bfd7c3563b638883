"""Every Plotly figure, as pure functions of plain data.

Used by the pages and the HTML report alike, so a figure has one implementation; never imports streamlit.
"""
