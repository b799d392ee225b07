"""Self-contained HTML reports of plotly figures, tables and text."""
from __future__ import annotations

import html
from pathlib import Path

from ._atomic import write_text_atomic

__all__ = ["write_html_report"]


_STYLE = """<style>
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1300px;margin:1.5em auto;padding:0 1em;
     color:#222;line-height:1.45;font-size:16px}
h1{font-size:1.7em;border-bottom:2px solid #446;padding-bottom:.2em} h2{font-size:1.25em;margin-top:1.6em;color:#334}
pre{background:#f6f7f9;padding:.6em .8em;border-radius:4px;white-space:pre-wrap}
table{border-collapse:collapse;margin:.4em 0;font-size:.95em}
td,th{border:1px solid #d5d8de;padding:3px 8px;vertical-align:top;max-width:60em}
th{background:#eef0f4} tr:nth-child(even) td{background:#fafbfc} td.num{text-align:right}
details{margin:.8em 0} summary{cursor:pointer;font-weight:600;color:#334}
</style>"""


def _table_html(df) -> str:
    # pandas writes a newline inside a cell as the two characters "\n"; show it as a line break. Cells with no
    # value show as an en dash, not "NaN" (an instructor projects this page).
    table = df.to_html(float_format=lambda v: f"{v:.3f}", na_rep="\u2013", border=0)
    return table.replace("\\n", "<br>")


def write_html_report(path, *, title: str, figures: dict | None = None, tables: dict | None = None,
                      text=(), details: dict | None = None) -> Path:
    """Write one HTML page (plotly.js included once, works offline); written atomically.

    Parameters
    ----------
    path : path
    title : str
    figures : dict of str -> plotly Figure
    tables : dict of str -> pandas DataFrame
    text : sequence of str
        Preformatted paragraphs.
    details : dict of str -> pandas DataFrame, optional
        Wide tables shown collapsed (``<details>``), below the main tables.
    """
    parts = [f"<h1>{html.escape(title)}</h1>"]
    parts += [f"<pre>{html.escape(t)}</pre>" for t in text]
    for name, df in (tables or {}).items():
        parts.append(f"<h2>{html.escape(name)}</h2>" + _table_html(df))
    for name, df in (details or {}).items():
        parts.append(f"<details><summary>{html.escape(name)}</summary>{_table_html(df)}</details>")
    for i, (name, fig) in enumerate((figures or {}).items()):
        parts.append(f"<h2>{html.escape(name)}</h2>" + fig.to_html(full_html=False, include_plotlyjs=i == 0))
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>{_STYLE}</head>"
            f"<body>{''.join(parts)}</body></html>")
    write_text_atomic(path, page)
    return Path(path)
