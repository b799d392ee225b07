"""Attribution views: every function returns its figure, one marker per electrode, values never recomputed."""
import numpy as np
import plotly.graph_objects as go
import pytest

from e2llm_lab.channels import REGION_NAMES, SEED_CH_NAMES
from e2llm_lab.interpret.attribution import Attribution
from e2llm_lab.interpret.views import (
    electrode_coords_mm,
    plot_attribution_static,
    plot_attribution_topomap,
    plot_band_heatmap,
    plot_deletion_curve,
    plot_markers_3d,
    plot_region_bars,
    view_attention_connectome,
    view_markers_3d,
)


@pytest.fixture(scope="module")
def attr():
    return Attribution(np.random.default_rng(0).normal(size=(4, 62, 5)), "integrated_gradients", "encoder logit: fear")


def test_topomap_has_one_hoverable_marker_per_electrode(attr):
    fig = plot_attribution_topomap(attr)
    assert isinstance(fig, go.Figure)
    sensors = [t for t in fig.data if getattr(t, "mode", None) == "markers"][0]
    assert len(sensors.x) == 62
    np.testing.assert_allclose(sensors.customdata[:, 1].astype(float), attr.electrode())
    assert "fear" in fig.layout.title.text


def test_band_heatmap_and_region_bars_hold_the_values(attr):
    fig = plot_band_heatmap(attr)
    z = np.asarray(fig.data[0].z)
    assert z.shape == (5, 62) and np.isclose(np.sort(z.ravel()), np.sort(attr.electrode_band().ravel())).all()
    bars = plot_region_bars(attr)
    np.testing.assert_allclose(np.asarray(bars.data[0].y), attr.region())
    assert list(bars.data[0].x) == list(REGION_NAMES)


def test_views_take_plain_arrays_and_check_them(attr):
    assert isinstance(plot_attribution_topomap(attr.electrode()), go.Figure)
    with pytest.raises(ValueError, match="62 channel names"):
        plot_band_heatmap(np.ones((10, 5)))


def test_static_views_return_matplotlib_figures(attr):
    import matplotlib.pyplot as plt

    for fig in (plot_attribution_static(attr, absolute=True), plot_markers_3d(attr)):
        assert isinstance(fig, plt.Figure)
        plt.close(fig)


def test_3d_views_use_millimetre_coordinates(attr, tmp_path):
    xyz = electrode_coords_mm()
    assert xyz.shape == (62, 3) and 60 < np.linalg.norm(xyz, axis=1).mean() < 120     # a head, in mm
    cz = xyz[SEED_CH_NAMES.index("CZ")]
    assert cz[2] > 50 and abs(cz[0]) < 10                                            # the vertex is on top
    view = view_markers_3d(attr)
    view.save_as_html(tmp_path / "m.html")
    assert "FP1" in (tmp_path / "m.html").read_text()
    A = np.random.default_rng(1).random((62, 62))
    assert view_attention_connectome(A) is not None
    with pytest.raises(ValueError, match="channels"):
        view_attention_connectome(A[:5, :5])


def test_deletion_curve_figure():
    import pandas as pd

    df = pd.DataFrame({"removed": np.arange(63), "attributed": np.linspace(1, 0, 63), "random": np.linspace(1, .5, 63)})
    df.attrs["gap"] = 0.2
    fig = plot_deletion_curve(df)
    assert len(fig.data) == 2 and "+0.200" in fig.layout.title.text


def test_band_heatmap_takes_its_container_width():
    """A fixed 1000-px width cut the colour bar off in a narrower notebook cell: the figure sizes to its container."""
    import numpy as np

    from e2llm_lab.interpret.views import plot_band_heatmap

    fig = plot_band_heatmap(np.ones((62, 5)))
    assert fig.layout.width is None and fig.layout.autosize
    assert fig.data[0].colorbar.len == 0.9 and fig.layout.margin.r >= 20
