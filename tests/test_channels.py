import mne
import numpy as np
import pytest

from e2llm_lab.channels import (
    REGION_NAMES,
    REGIONS,
    SEED_CH_NAMES,
    channel_positions_2d,
    channel_positions_3d,
    make_info,
    normalize_ch_name,
    region_index,
    region_of,
)


def test_cap_has_62_unique_channels_in_seed_order():
    assert len(SEED_CH_NAMES) == 62 == len(set(SEED_CH_NAMES))
    assert SEED_CH_NAMES[:3] == ("FP1", "FPZ", "FP2") and SEED_CH_NAMES[-1] == "CB2"
    assert SEED_CH_NAMES.index("CB1") == 57 and SEED_CH_NAMES.index("OZ") == 59


def test_regions_partition_the_cap():
    members = [c for chs in REGIONS.values() for c in chs]
    assert sorted(members) == sorted(SEED_CH_NAMES)
    assert len(REGION_NAMES) == 11
    idx = region_index()
    assert idx.shape == (62,) and set(idx) == set(range(11))
    assert region_of("Fp1") == "prefrontal" and region_of("T7") == "left_temporal"


def test_hemisphere_regions_lie_on_their_side():
    x = channel_positions_3d()[:, 0]
    for r in REGION_NAMES:
        xs = x[[SEED_CH_NAMES.index(c) for c in REGIONS[r]]]
        if r.startswith("left"):
            assert (xs < 0).all(), r
        if r.startswith("right"):
            assert (xs > 0).all(), r


def test_cb1_cb2_positions_derived_from_polar_layout():
    p2 = channel_positions_2d()
    i = {c: SEED_CH_NAMES.index(c) for c in ("CB1", "CB2", "O1", "O2", "PO7", "OZ", "CZ", "T7", "FPZ")}
    # the Fpz-T7-Oz circle sits at radius 0.5, the vertex at 0, CB1/CB2 one 10 % step further out
    for c in ("FPZ", "T7", "OZ"):
        assert abs(np.hypot(*p2[i[c]]) - 0.5) < 0.06
    assert np.hypot(*p2[i["CZ"]]) < 0.05
    for cb, o in (("CB1", "O1"), ("CB2", "O2")):
        assert np.hypot(*p2[i[cb]]) == pytest.approx(0.6, abs=0.02)
        assert abs(p2[i[cb], 0]) > abs(p2[i[o], 0])          # lateral to O1/O2
        assert p2[i[cb], 1] < p2[i["PO7"], 1]                 # behind PO7
    assert p2[i["CB1"], 0] == pytest.approx(-p2[i["CB2"], 0], abs=0.02)
    xyz = channel_positions_3d()
    assert xyz[i["CB1"], 2] < xyz[i["O1"], 2]                # below the occipital row


@pytest.mark.parametrize("raw,expected", [
    ("EEG Fp1-REF", "FP1"), ("Fp1", "FP1"), ("FP1", "FP1"), ("eeg cz-le", "CZ"), ("T3", "T7"),
    ("T6-A2", "P8"), ("Oz.", "OZ"), ("EEG_POz", "POZ"), ("POL Fp2", "FP2"), ("POL E", "E"), ("POL $A1", "$A1"),
    ("A1", "A1"), ("A2", "A2"), ("M1", "M1"), ("EEG A2-REF", "A2"), ("Fz_AVG", "FZ"), ("C3-M2", "C3"),
    ("REF", "REF"), ("000", "000"), ("B32", "B32"),
])
def test_normalize_ch_name(raw, expected):
    assert normalize_ch_name(raw) == expected


def test_make_info_works_with_mne_topomap():
    import matplotlib.pyplot as plt

    info = make_info(sfreq=200)
    assert info["nchan"] == 62 and info["sfreq"] == 200
    pos = np.array([ch["loc"][:3] for ch in info["chs"]])
    assert np.isfinite(pos).all() and (np.linalg.norm(pos, axis=1) > 0.05).all()
    fig, ax = plt.subplots()
    im, _ = mne.viz.plot_topomap(np.arange(62.0), info, axes=ax, show=False)
    assert im is not None
    plt.close(fig)


def test_make_info_rejects_unknown_channel():
    with pytest.raises(ValueError, match="XYZ"):
        make_info(["FP1", "XYZ"])
