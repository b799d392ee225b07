import numpy as np
import pytest

from e2llm_lab.channels import SEED_CH_NAMES
from e2llm_lab.config import DataConfig, SyntheticConfig
from e2llm_lab.data.recordings import featureset_from_recordings
from e2llm_lab.data.synthetic import (
    PLANTED_EFFECTS,
    iter_cohort,
    make_cohort,
    planted_effect_matrix,
    planted_mask,
    trials_table,
)
from e2llm_lab.emotions import EMOTIONS


def test_trials_table_layout():
    t = trials_table(SyntheticConfig(n_subjects=3, n_trials_per_emotion=2))
    assert len(t) == 3 * 2 * 7
    assert list(t.columns) == ["subject", "session", "trial", "emotion", "valence", "arousal"]
    assert (t.groupby(["subject", "emotion"]).size() == 2).all()
    assert not t.duplicated(["subject", "session", "trial"]).any()


def test_cohort_shapes_units_and_artefacts(tiny_cohort):
    raws, trials = tiny_cohort
    assert len(raws) == len(trials) == 14
    data = raws[0].get_data()
    assert data.shape == (62, 16 * 200)
    sd_uv = np.median(data.std(axis=1)) * 1e6
    assert 5 < sd_uv < 60                          # microvolt-scale EEG stored in volts
    fp = SEED_CH_NAMES.index("FP1"), SEED_CH_NAMES.index("OZ")
    assert np.abs(data[fp[0]]).max() > 2 * np.abs(data[fp[1]]).max()   # eye blinks on frontal channels
    spec = np.abs(np.fft.rfft(data[fp[1]]))
    f = np.fft.rfftfreq(data.shape[1], 1 / 200)
    assert spec[np.argmin(np.abs(f - 50))] > 5 * np.median(spec[(f > 45) & (f < 55)])   # 50 Hz line
    assert set(trials.columns) >= {"subject", "session", "trial", "emotion", "bad_channel"}


def test_deterministic_and_subset_consistent(tiny_synth_cfg):
    a = next(iter_cohort(tiny_synth_cfg, subjects=[2]))[0].get_data()
    all_raws, trials = make_cohort(tiny_synth_cfg)
    b = all_raws[int(np.flatnonzero(trials.subject == 2)[0])].get_data()
    np.testing.assert_array_equal(a, b)
    c = next(iter_cohort(SyntheticConfig(**{**tiny_synth_cfg.__dict__, "seed": 4}), subjects=[2]))[0].get_data()
    assert not np.allclose(a, c)


def test_planted_mask_matches_table():
    mask = planted_mask()
    assert mask.shape == (7, 62, 5) and mask.dtype == bool
    eff = planted_effect_matrix()
    h = EMOTIONS.index("happiness")
    assert eff[h, SEED_CH_NAMES.index("T7"), 4] == pytest.approx(0.6)
    assert eff[h, SEED_CH_NAMES.index("F3"), 2] == pytest.approx(-0.4)
    assert eff[h, SEED_CH_NAMES.index("OZ")].sum() == 0
    assert all(mask[EMOTIONS.index(e)].any() for e in PLANTED_EFFECTS)


@pytest.mark.slow
def test_planted_effects_are_recoverable_and_vanish_without_them():
    """Emotion contrasts of measured DE correlate with the planted table; with effect_size=0 they do not."""
    def contrast_corr(effect_size):
        cfg = SyntheticConfig(n_subjects=2, n_trials_per_emotion=2, trial_s=24.0, effect_size=effect_size, seed=11)
        fs = featureset_from_recordings(iter_cohort(cfg), DataConfig(), progress=False)
        x = fs.X[:, 0]
        grand = x.mean(0)
        planted = planted_effect_matrix()
        planted = planted - planted.mean(0)
        rs = []
        for i, e in enumerate(EMOTIONS):
            c = x[(fs.meta.emotion == e).to_numpy()].mean(0) - grand
            rs.append(np.corrcoef(c.ravel(), planted[i].ravel())[0, 1])
        return np.mean(rs)

    assert contrast_corr(1.0) > 0.35
    assert abs(contrast_corr(0.0)) < 0.15
