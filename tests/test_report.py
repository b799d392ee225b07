"""report.py: one self-contained HTML page, written atomically."""
import pandas as pd
import plotly.graph_objects as go

from e2llm_lab._html import write_html_report


def test_report_holds_text_tables_figures_once_with_line_breaks(tmp_path):
    figs = {"a": go.Figure(go.Scatter(x=[1, 2], y=[3, 4])), "b": go.Figure(go.Bar(x=["x"], y=[1]))}
    table = pd.DataFrame({"answer": ["<think> first.\nsecond </think>"], "acc": [0.123456]})
    path = write_html_report(tmp_path / "r.html", title="T <1>", figures=figs, tables={"answers": table},
                             text=["line & more"])
    html = path.read_text()
    assert html.startswith("<!doctype html>") and "<title>T &lt;1&gt;</title>" in html
    assert "line &amp; more" in html and "0.123" in html and "0.123456" not in html
    assert "first.<br>second" in html and "\\n" not in html.split("<script")[0]      # a line break, not "\n"
    assert html.count("<h2>") == 3
    assert html.count("plotly.js v") == 1 and html.count("Plotly.newPlot") == 2          # plotly.js once, 2 plots
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]                             # no temp file left


def test_report_replaces_an_old_one_whole(tmp_path):
    write_html_report(tmp_path / "r.html", title="old", text=["x" * 10000])
    write_html_report(tmp_path / "r.html", title="new")
    html = (tmp_path / "r.html").read_text()
    assert "<title>new</title>" in html and "x" * 100 not in html
