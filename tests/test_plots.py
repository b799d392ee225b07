import numpy as np
import plotly.graph_objects as go
import pytest

from e2llm_lab.channels import SEED_CH_NAMES, channel_positions_2d
from e2llm_lab.data.samples import load_sample
from e2llm_lab.interpret.plots import (
    emotion_band_contrast,
    plot_band_topomaps,
    plot_cap,
    plot_emotion_topomaps,
    plot_topomap,
    plot_topomap_static,
)


def test_topomap_interpolation_passes_through_electrodes():
    rng = np.random.default_rng(0)
    values = rng.normal(size=62)
    fig = plot_topomap(values, title="t")
    assert isinstance(fig, go.Figure)
    hm = fig.data[0]
    g, z = np.asarray(hm.x), np.asarray(hm.z)
    pos = channel_positions_2d()
    for c in ("CZ", "PZ", "F3"):
        i = SEED_CH_NAMES.index(c)
        gx, gy = np.argmin(np.abs(g - pos[i, 0])), np.argmin(np.abs(g - pos[i, 1]))
        assert z[gy, gx] == pytest.approx(values[i], abs=0.6)
    assert np.isnan(z[0, 0])                  # corners are outside the head
    with pytest.raises(ValueError, match="one per channel"):
        plot_topomap(values[:10])


def test_band_grid_and_emotion_contrast():
    fs = load_sample()
    c = emotion_band_contrast(fs)
    assert c.shape == (7, 62, 5)
    np.testing.assert_allclose(np.nansum(c * fs.meta.emotion.value_counts().reindex(
        ["happiness", "sadness", "fear", "disgust", "surprise", "anger", "neutral"]).to_numpy()[:, None, None], 0), 0,
        atol=1e-2)                            # weighted contrasts sum to zero
    fig = plot_emotion_topomaps(fs)
    heatmaps = [d for d in fig.data if isinstance(d, go.Heatmap)]
    assert len(heatmaps) == 35
    assert plot_band_topomaps(c[0]).layout.coloraxis.cmin == pytest.approx(-np.abs(c[0]).max())


def test_cap_and_static():
    fig = plot_cap()
    assert sum(len(d.x) for d in fig.data if d.name) == 62
    mfig = plot_topomap_static(np.arange(62.0), title="x")
    assert mfig.axes[0].get_title() == "x"
