"""Views of one attribution (or any per-electrode values): topomap, band x electrode heatmap, region bars,
deletion curve, and 3-D electrodes with nilearn.

Every function takes an :class:`~e2llm_lab.interpret.attribution.Attribution` or a plain array, never recomputes
it, and returns its figure. Shared options:

ch_names : sequence of str
    Channel names of the values (an Attribution brings its own).
absolute : bool
    Use |attribution| (how much a feature mattered, either way) instead of its sign (which way it pushed).
title : str, optional

3-D coordinates: the cap's positions from MNE's 10-05 template (CB1/CB2 derived from it,
:func:`e2llm_lab.channels.channel_positions_3d`) are in MNE head coordinates, metres; nilearn draws in
millimetres in MNI space, so they are scaled by 1000. The template is fsaverage-based, so the head frame sits
within about a centimetre or two of MNI: right for showing *which* electrodes matter, not for source analysis.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from ..channels import REGION_NAMES, SEED_CH_NAMES, channel_positions_3d, region_index, region_of
from ..config import DEFAULT_BANDS, band_names
from .attribution import Attribution
from .plots import plot_topomap, plot_topomap_static

__all__ = ["electrode_coords_mm", "plot_attribution_topomap", "plot_band_heatmap", "plot_region_bars",
           "plot_deletion_curve", "plot_attribution_static", "view_markers_3d", "plot_markers_3d",
           "view_attention_connectome"]


def _electrode_band(values, ch_names, absolute: bool) -> tuple[np.ndarray, tuple]:
    if isinstance(values, Attribution):
        return values.electrode_band(absolute=absolute), values.ch_names
    v = np.asarray(values, dtype=float)
    v = v.sum(axis=0) if v.ndim == 3 else v                  # (T, C, F) -> (C, F)
    if v.ndim == 1:
        v = v[:, None]
    if v.shape[0] != len(ch_names):
        raise ValueError(f"values have {v.shape[0]} electrodes but {len(ch_names)} channel names were given")
    return (np.abs(v) if absolute else v), tuple(ch_names)


def electrode_coords_mm(ch_names=SEED_CH_NAMES) -> np.ndarray:
    """3-D electrode positions in millimetres (see the module docstring), shape (n_chans, 3)."""
    return channel_positions_3d(ch_names) * 1000.0


def plot_attribution_topomap(attr, *, ch_names=SEED_CH_NAMES, absolute: bool = False, title: str | None = None,
                             show_names: bool = False) -> go.Figure:
    """Interactive topomap of the attribution summed per electrode (hover: electrode, region, value)."""
    v, names = _electrode_band(attr, ch_names, absolute)
    if title is None and isinstance(attr, Attribution):
        title = f"{attr.method}: {attr.target}"
    return plot_topomap(v.sum(axis=1), ch_names=names, title=title, show_names=show_names,
                        colorscale="Reds" if absolute else "RdBu_r", cbar_title="attribution")


def plot_band_heatmap(attr, *, ch_names=SEED_CH_NAMES, bands=band_names(DEFAULT_BANDS), absolute: bool = False,
                      title: str | None = None) -> go.Figure:
    """Band x electrode heatmap, electrodes grouped by region (hover: electrode, region, band, value)."""
    v, names = _electrode_band(attr, ch_names, absolute)
    bands = attr.bands if isinstance(attr, Attribution) else tuple(bands)
    order = np.argsort(region_index(names), kind="stable")
    regions = [region_of(names[i]) for i in order]
    m = float(np.abs(v).max()) or 1.0
    fig = go.Figure(go.Heatmap(
        z=v[order].T, x=[names[i] for i in order], y=list(bands), colorscale="Reds" if absolute else "RdBu_r",
        zmin=0 if absolute else -m, zmax=m, customdata=np.tile(np.array(regions, dtype=object), (len(bands), 1)),
        hovertemplate="%{x} (%{customdata}) %{y}: %{z:.3f}<extra></extra>",
        colorbar=dict(title=dict(text="attribution", side="right"), thickness=14, len=0.9)))
    # no fixed width: the figure takes its container's (a notebook cell, the explorer's output), so the colour bar
    # is never cut off at the right edge of a narrower JupyterLab cell
    fig.update_layout(title=title, height=300, autosize=True, xaxis=dict(tickfont=dict(size=8)),
                      margin=dict(l=10, r=20, t=40, b=10))
    return fig


def plot_region_bars(attr, *, ch_names=SEED_CH_NAMES, absolute: bool = False, title: str | None = None) -> go.Figure:
    """Attribution summed per brain region, as bars."""
    v, names = _electrode_band(attr, ch_names, absolute)
    idx, e = region_index(names), v.sum(axis=1)
    df = pd.DataFrame({"region": REGION_NAMES, "attribution": [e[idx == r].sum() for r in range(len(REGION_NAMES))]})
    fig = px.bar(df, x="region", y="attribution", title=title)
    fig.update_layout(height=320, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def plot_deletion_curve(curve: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """Target value as electrodes are removed, most attributed first vs random order
    (:func:`~e2llm_lab.interpret.attribution.deletion_curve`)."""
    fig = go.Figure([go.Scatter(x=curve.removed, y=curve.attributed, name="most attributed first"),
                     go.Scatter(x=curve.removed, y=curve.random, name="random order", line=dict(dash="dash"))])
    gap = curve.attrs.get("gap")
    fig.update_layout(title=title or (f"Deletion curve (mean gap {gap:+.3f})" if gap is not None else None),
                      xaxis_title="electrodes set to the baseline", yaxis_title="target", height=350)
    return fig


def plot_attribution_static(attr, *, ch_names=SEED_CH_NAMES, absolute: bool = False, title: str | None = None,
                            axes=None):
    """Print-quality topomap of the per-electrode attribution (MNE, matplotlib); returns the figure."""
    v, names = _electrode_band(attr, ch_names, absolute)
    return plot_topomap_static(v.sum(axis=1), ch_names=names, title=title, cmap="Reds" if absolute else "RdBu_r",
                               axes=axes)


def _sizes(e: np.ndarray, lo: float = 3.0, hi: float = 14.0) -> np.ndarray:
    a = np.abs(e)
    return lo + (hi - lo) * a / (a.max() or 1.0)


def view_markers_3d(attr, *, ch_names=SEED_CH_NAMES, absolute: bool = False, title: str | None = None):
    """Interactive 3-D electrodes (nilearn ``view_markers``), coloured and sized by attribution.

    Returns
    -------
    nilearn ConnectomeView (shows itself in a notebook; ``.save_as_html(path)``)
    """
    import matplotlib
    from matplotlib import colors
    from nilearn import plotting

    v, names = _electrode_band(attr, ch_names, absolute)
    e = v.sum(axis=1)
    m = float(np.abs(e).max()) or 1.0
    norm = colors.Normalize(0 if absolute else -m, m)
    cmap = matplotlib.colormaps["Reds" if absolute else "RdBu_r"]
    return plotting.view_markers(electrode_coords_mm(names), marker_color=[colors.to_hex(cmap(norm(x))) for x in e],
                                 marker_size=_sizes(e), marker_labels=list(names), title=title)


def plot_markers_3d(attr, *, ch_names=SEED_CH_NAMES, absolute: bool = True, title: str | None = None):
    """Static glass-brain view of the electrodes (nilearn ``plot_markers``), for print; returns the figure."""
    import matplotlib.pyplot as plt
    from nilearn import plotting

    v, names = _electrode_band(attr, ch_names, absolute)
    e = v.sum(axis=1)
    fig = plt.figure(figsize=(8, 3))
    plotting.plot_markers(e, electrode_coords_mm(names), node_size=_sizes(e, 5, 60), figure=fig, title=title,
                          node_cmap="Reds" if absolute else "RdBu_r", display_mode="lzr")
    return fig


def view_attention_connectome(A, *, ch_names=SEED_CH_NAMES, edge_threshold: str | float = "98%",
                              title: str | None = None):
    """The strongest electrode x electrode attention edges in 3-D (nilearn ``view_connectome``).

    Parameters
    ----------
    A : np.ndarray, shape (n_chans, n_chans)
        e.g. :func:`~e2llm_lab.interpret.attention.mean_spatial_attention`; symmetrised (A + A.T) / 2, no
        self-edges.
    edge_threshold : str or float
        Keep edges above this value, or above this percentile ("98%").
    """
    from nilearn import plotting

    A = np.asarray(A, dtype=float)
    if A.shape != (len(ch_names), len(ch_names)):
        raise ValueError(f"attention of shape {A.shape} for {len(ch_names)} channels")
    S = (A + A.T) / 2
    np.fill_diagonal(S, 0.0)
    return plotting.view_connectome(S, electrode_coords_mm(ch_names), edge_threshold=edge_threshold,
                                    node_size=3.0, title=title, symmetric_cmap=False, edge_cmap="Reds")
