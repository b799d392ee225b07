"""Self-contained HTML reports of plotly figures, tables and text."""
from __future__ import annotations

import html
from pathlib import Path

from ._atomic import write_text_atomic

__all__ = ["write_html_report"]


def write_html_report(path, *, title: str, figures: dict | None = None, tables: dict | None = None,
                      text=()) -> Path:
    """Write one HTML page (plotly.js included once, works offline); written atomically.

    Parameters
    ----------
    path : path
    title : str
    figures : dict of str -> plotly Figure
    tables : dict of str -> pandas DataFrame
    text : sequence of str
        Preformatted paragraphs.
    """
    parts = [f"<h1>{html.escape(title)}</h1>"]
    parts += [f"<pre>{html.escape(t)}</pre>" for t in text]
    for name, df in (tables or {}).items():
        # pandas writes a newline inside a cell as the two characters "\n"; show it as a line break
        table = df.to_html(float_format=lambda v: f"{v:.3f}").replace("\\n", "<br>")
        parts.append(f"<h2>{html.escape(name)}</h2>" + table)
    for i, (name, fig) in enumerate((figures or {}).items()):
        parts.append(f"<h2>{html.escape(name)}</h2>" + fig.to_html(full_html=False, include_plotlyjs=i == 0))
    style = ("<style>td{vertical-align:top;max-width:60em}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}</style>")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>{style}</head>"
            f"<body style='font-family:sans-serif'>{''.join(parts)}</body></html>")
    write_text_atomic(path, page)
    return Path(path)
