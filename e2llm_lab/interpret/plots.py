"""Figures: interactive plotly topomaps and cap layouts for exploring, MNE/matplotlib topomaps for print.

Like MNE's plotting API, data come positional, options keyword-only, and every function returns its
figure without showing it.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from scipy.interpolate import RBFInterpolator

from ..channels import REGION_NAMES, SEED_CH_NAMES, channel_positions_2d, make_info, region_of
from ..config import DEFAULT_BANDS, band_names

__all__ = ["plot_history", "plot_topomap", "plot_band_topomaps", "plot_emotion_topomaps", "plot_cap",
           "plot_topomap_static",
           "emotion_band_contrast"]

_HEAD_R = 0.62      # the polar layout puts the Fpz-T7-Oz circle at 0.5 and CB1/CB2 at ~0.59
_GRID = 60


def _interp(values: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Thin-plate spline over the 2-D layout; NaN outside the head
    g = np.linspace(-_HEAD_R, _HEAD_R, _GRID)
    gx, gy = np.meshgrid(g, g)
    z = RBFInterpolator(pos, values, kernel="thin_plate_spline", smoothing=1e-3)(np.c_[gx.ravel(), gy.ravel()])
    z = z.reshape(gx.shape)
    z[np.hypot(gx, gy) > _HEAD_R] = np.nan
    return g, z


def _head_traces(show_names: bool, pos: np.ndarray, names, values) -> list:
    t = np.linspace(0, 2 * np.pi, 100)
    outline = go.Scatter(x=_HEAD_R * np.cos(t), y=_HEAD_R * np.sin(t), mode="lines", line=dict(color="black", width=1),
                         hoverinfo="skip", showlegend=False)
    nose = go.Scatter(x=[-0.06, 0, 0.06], y=[_HEAD_R - 0.005, _HEAD_R + 0.07, _HEAD_R - 0.005], mode="lines",
                      line=dict(color="black", width=1), hoverinfo="skip", showlegend=False)
    sensors = go.Scatter(
        x=pos[:, 0], y=pos[:, 1], mode="markers+text" if show_names else "markers",
        text=list(names) if show_names else None, textfont=dict(size=7), textposition="top center",
        marker=dict(size=4, color="black"), showlegend=False,
        customdata=np.c_[np.array(names, dtype=object), np.asarray(values, dtype=object),
                         np.array([region_of(n) for n in names], dtype=object)],
        hovertemplate="%{customdata[0]} (%{customdata[2]}): %{customdata[1]:.3f}<extra></extra>")
    return [outline, nose, sensors]


def _square(fig: go.Figure, rows: int, cols: int) -> None:
    for i in range(1, rows * cols + 1):
        suffix = "" if i == 1 else str(i)
        fig.layout[f"xaxis{suffix}"].update(visible=False, range=[-0.7, 0.7])
        fig.layout[f"yaxis{suffix}"].update(visible=False, range=[-0.7, 0.75], scaleanchor=f"x{suffix}")


def plot_topomap(values, *, ch_names=SEED_CH_NAMES, title: str | None = None, colorscale: str = "RdBu_r",
                 vlim: tuple[float, float] | None = None, show_names: bool = False, cbar_title: str = "") -> go.Figure:
    """Interactive topographic map of one value per electrode (hover shows channel, region, value).

    Parameters
    ----------
    values : array-like, shape (n_chans,)
    ch_names : sequence of str
        SEED channel names matching ``values``.
    title : str, optional
    colorscale : str
        Plotly colour scale.
    vlim : (float, float), optional
        Colour limits; default symmetric around 0 when values change sign.
    show_names : bool
        Write channel names beside the electrodes.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    values = np.asarray(values, dtype=float)
    if values.shape != (len(ch_names),):
        raise ValueError(f"values has shape {values.shape}; expected ({len(ch_names)},), one per channel")
    pos = channel_positions_2d(ch_names)
    g, z = _interp(values, pos)
    lo, hi = vlim if vlim is not None else _auto_vlim(values)
    fig = go.Figure([go.Heatmap(x=g, y=g, z=z, colorscale=colorscale, zmin=lo, zmax=hi, zsmooth="best",
                                hoverinfo="skip", colorbar=dict(title=cbar_title))]
                    + _head_traces(show_names, pos, ch_names, values))
    _square(fig, 1, 1)
    fig.update_layout(title=title, width=420, height=400, margin=dict(l=10, r=10, t=40, b=10),
                      plot_bgcolor="white")
    return fig


def _auto_vlim(values: np.ndarray) -> tuple[float, float]:
    if values.min() < 0 < values.max():
        m = float(np.abs(values).max())
        return -m, m
    return float(values.min()), float(values.max())


def plot_band_topomaps(values, *, ch_names=SEED_CH_NAMES, bands=DEFAULT_BANDS, row_labels=None,
                       title: str | None = None, colorscale: str = "RdBu_r", vlim=None, cbar_title: str = ""
                       ) -> go.Figure:
    """A grid of topomaps: rows (e.g. emotions) x bands, sharing one colour scale.

    Parameters
    ----------
    values : array-like, shape (n_chans, n_bands) or (n_rows, n_chans, n_bands)
    row_labels : sequence of str, optional
        One label per row.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    values = np.asarray(values, dtype=float)
    if values.ndim == 2:
        values = values[None]
    n_rows, n_c, n_b = values.shape
    if n_c != len(ch_names) or n_b != len(bands):
        raise ValueError(f"values has shape {values.shape}; expected (n_rows, {len(ch_names)} channels, "
                         f"{len(bands)} bands)")
    row_labels = list(row_labels) if row_labels is not None else [""] * n_rows
    titles = [f"{r} {b}".strip() for r in row_labels for b in band_names(bands)]
    fig = make_subplots(n_rows, n_b, subplot_titles=titles, horizontal_spacing=0.01, vertical_spacing=0.04)
    pos = channel_positions_2d(ch_names)
    lo, hi = vlim if vlim is not None else _auto_vlim(values)
    for i in range(n_rows):
        for j in range(n_b):
            g, z = _interp(values[i, :, j], pos)
            fig.add_trace(go.Heatmap(x=g, y=g, z=z, coloraxis="coloraxis", zsmooth="best", hoverinfo="skip"),
                          i + 1, j + 1)
            for tr in _head_traces(False, pos, ch_names, values[i, :, j]):
                fig.add_trace(tr, i + 1, j + 1)
    _square(fig, n_rows, n_b)
    fig.update_layout(title=title, coloraxis=dict(colorscale=colorscale, cmin=lo, cmax=hi,
                                                  colorbar=dict(title=cbar_title)),
                      width=170 * n_b + 120, height=170 * n_rows + 80, margin=dict(l=10, r=10, t=60, b=10),
                      plot_bgcolor="white")
    return fig


def emotion_band_contrast(fs) -> np.ndarray:
    """Mean feature per label minus the grand mean, shape ``(n_labels, n_chans, n_bands)``.

    Averages over samples and steps of a FeatureSet (z-scored features give contrasts in SD units), labels in the
    order of ``fs.label_space``. Labels absent from ``fs`` give NaN rows.
    """
    per_sample = fs.X.mean(axis=1)                                   # (N, T, C, F) -> (N, C, F)
    grand = per_sample.mean(axis=0)
    labels = fs.label_space.labels
    out = np.full((len(labels), fs.n_chans, fs.n_bands), np.nan)
    for i, e in enumerate(labels):
        sel = (fs.meta.emotion == e).to_numpy()
        if sel.any():
            out[i] = per_sample[sel].mean(axis=0) - grand
    return out


def plot_emotion_topomaps(fs, *, title: str | None = "Band power per emotion (minus the grand mean)",
                          vlim=None) -> go.Figure:
    """Topomaps of each emotion's mean feature contrast per band (rows emotions, columns bands).

    Parameters
    ----------
    fs : FeatureSet
    """
    contrast = emotion_band_contrast(fs)
    keep = ~np.isnan(contrast).all(axis=(1, 2))
    return plot_band_topomaps(contrast[keep], ch_names=fs.ch_names, bands=fs.bands,
                              row_labels=[e for e, k in zip(fs.label_space.labels, keep) if k], title=title, vlim=vlim,
                              cbar_title="z")


def plot_cap(ch_names=SEED_CH_NAMES, *, title: str | None = "SEED 62-channel cap") -> go.Figure:
    """The cap's electrodes on the 2-D polar layout, coloured by brain region (hover for names)."""
    pos = channel_positions_2d(ch_names)
    regions = [region_of(c) for c in ch_names]
    fig = go.Figure(_head_traces(False, pos, ch_names, np.zeros(len(ch_names)))[:2])
    for r in REGION_NAMES:
        sel = [i for i, x in enumerate(regions) if x == r]
        if sel:
            fig.add_trace(go.Scatter(x=pos[sel, 0], y=pos[sel, 1], mode="markers+text", name=r,
                                     text=[ch_names[i] for i in sel], textposition="top center",
                                     textfont=dict(size=8), marker=dict(size=9)))
    _square(fig, 1, 1)
    fig.update_layout(title=title, width=620, height=520, plot_bgcolor="white")
    return fig


def plot_topomap_static(values, *, ch_names=SEED_CH_NAMES, title: str | None = None, cmap: str = "RdBu_r",
                        vlim=None, axes=None):
    """Print-quality topomap through ``mne.viz.plot_topomap`` (matplotlib).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    import mne

    values = np.asarray(values, dtype=float)
    if values.shape != (len(ch_names),):
        raise ValueError(f"values has shape {values.shape}; expected ({len(ch_names)},)")
    if axes is None:
        fig, axes = plt.subplots(figsize=(3.2, 3.2))
    else:
        fig = axes.figure
    lim = vlim if vlim is not None else _auto_vlim(values)
    mne.viz.plot_topomap(values, make_info(ch_names), axes=axes, cmap=cmap, vlim=lim, show=False)
    if title:
        axes.set_title(title)
    return fig


def plot_history(history: pd.DataFrame, *, columns=("loss", "mask_loss", "supcon_loss", "ce_loss", "val_loss"),
                 title: str | None = "Training history") -> go.Figure:
    """Loss curves per epoch from a history DataFrame (phases shaded by line style)."""
    cols = [c for c in columns if c in history and history[c].notna().any()]
    long = history.melt(id_vars=["epoch"] + (["phase"] if "phase" in history else []), value_vars=cols,
                        var_name="curve", value_name="value")
    fig = px.line(long, x="epoch", y="value", color="curve", markers=True, title=title,
                  line_dash="phase" if "phase" in history else None)
    fig.update_layout(width=700, height=400)
    return fig
