"""A clinical 19-channel 10-20 recording runs the whole pipeline: files -> features -> encoder -> E2LLM -> rationale
-> topomaps, on its own channels."""
import warnings

import mne
import numpy as np
import pandas as pd
import pytest
import torch
from test_io import CLINICAL_1020, CLINICAL_EXTRAS, _save

from e2llm_lab.channels import REGION_NAMES, SEED_CH_NAMES, regions_present
from e2llm_lab.config import DataConfig, EncoderConfig, SyntheticConfig
from e2llm_lab.data.featureset import FeatureSet
from e2llm_lab.data.io import read_raw
from e2llm_lab.data.recordings import featureset_from_recordings
from e2llm_lab.data.synthetic import iter_cohort
from e2llm_lab.emotions import AROUSAL, EMOTIONS, VALENCE
from e2llm_lab.models.encoder import EEGEncoder
from e2llm_lab.text.answers import check_claims
from e2llm_lab.text.instructions import make_examples
from e2llm_lab.text.rationales import EmotionSignatures, evidence_items, region_band_z

CAP_1020 = [c for c in SEED_CH_NAMES if c in CLINICAL_1020]


@pytest.fixture(scope="module")
def clinical_features(tmp_path_factory):
    """4 synthetic subjects x 7 emotions, each trial written as a clinical EDF export and read back."""
    folder = tmp_path_factory.mktemp("clinical")
    cfg = SyntheticConfig(n_subjects=4, n_trials_per_emotion=1, trial_s=48.0, seed=3)
    to_clinical = {c: CLINICAL_1020[c] for c in CAP_1020}

    def recordings():
        for k, (raw, row) in enumerate(iter_cohort(cfg)):
            raw = raw.copy().pick(CAP_1020).rename_channels(to_clinical)
            extra = mne.io.RawArray(np.random.default_rng(k).normal(0, 1e-5, (len(CLINICAL_EXTRAS), raw.n_times)),
                                    mne.create_info(CLINICAL_EXTRAS, raw.info["sfreq"], "eeg"), verbose="error")
            raw.set_montage(None)
            raw.add_channels([extra], force_update_info=True)
            path = _save(raw, folder / f"s{row['subject']}_t{row['trial']}.edf")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")               # the dropped vendor channels
                yield read_raw(path, missing="present"), row

    return featureset_from_recordings(recordings(), DataConfig(), total=28, progress=False)


def test_features_carry_the_19_channels(clinical_features):
    fs = clinical_features
    assert fs.ch_names == tuple(CAP_1020) and fs.X.shape[2:] == (19, 5)
    assert set(fs.meta.emotion) == set(EMOTIONS) and fs.meta.subject.nunique() == 4
    assert np.isfinite(fs.X).all()
    # the 10-20 montage reaches every region: none is empty, each holds at least one electrode
    assert regions_present(fs.ch_names).all()


def test_encoder_regions_follow_the_channels_present():
    few = ("FP1", "FP2", "CZ", "O1", "O2")                           # prefrontal, midline, occipital only
    enc = EEGEncoder(EncoderConfig(n_chans=len(few)), few)
    torch.manual_seed(0)
    out = enc(torch.randn(2, 4, len(few), 5))
    present = regions_present(few)
    assert present.sum() == 3 and out.region_tokens.shape == (2, len(REGION_NAMES), enc.cfg.d_model)
    assert (out.region_tokens[:, ~present] == 0).all()              # empty regions stay empty
    assert (out.region_tokens[:, present].abs().sum(-1) > 0).all()


def test_rationales_name_only_regions_the_cap_has():
    few = ("FP1", "FP2", "CZ", "O1", "O2")
    rng = np.random.default_rng(0)
    X = rng.normal(0, 1, (70, 1, len(few), 5)).astype(np.float32)
    emotions = np.tile(EMOTIONS, 10)
    meta = pd.DataFrame({"subject": np.repeat([1, 2], 35), "session": 1, "trial": np.arange(70), "start_window": 0,
                         "emotion": emotions, "valence": [VALENCE[e] for e in emotions],
                         "arousal": [AROUSAL[e] for e in emotions]})
    fs = FeatureSet(X, meta, few, DataConfig().bands)
    sig = EmotionSignatures.fit(fs, np.arange(70))
    assert sig.present.tolist() == regions_present(few).tolist()
    assert np.isfinite(sig.similarity(region_band_z(fs.X[0], few))).all()
    cited = {r for i in range(70) for r, _, _ in evidence_items(region_band_z(fs.X[i], few), emotion=meta.emotion[i],
                                                                  signatures=sig, k=5, threshold=0.0)}
    assert cited and cited <= {"prefrontal", "midline", "occipital"}
    texts = " ".join(ex.answer for ex in make_examples(fs, np.arange(70), n_per_task=6, n_eeg_tokens=12, seed=0,
                                                       signatures=sig))
    for absent in ("left frontal", "right temporal", "left parietal"):
        assert absent not in texts.lower()
    # a claim about a region without electrodes is never supported
    z = region_band_z(fs.X[0], few)
    assert check_claims("Left frontal alpha is higher than usual (z = +1.0).", z)["n_supported"] == 0


def test_quickstart_pipeline_runs_on_the_19_channel_cohort(clinical_features, tmp_path):
    from e2llm_lab.apps.quickstart import run_quickstart

    fs = clinical_features.with_steps(1)
    res = run_quickstart(features=fs, test_subjects=(4,), fast=True, out=tmp_path, device="cpu", progress=False,
                         verbose=False)
    model = res["model"]
    assert model.encoder.ch_names == tuple(CAP_1020) and model.encoder.cfg.n_chans == 19
    assert model.signatures.present.all()
    answers = res["answers"]
    assert len(answers) > 0 and answers.text.str.len().gt(0).all()
    # the held-out subject is never in training: every answer is about subject 4
    assert set(answers.subject) == {4}
    html = (tmp_path / "quickstart.html").read_text()
    assert "held-out subjects: (4,)" in html
    from e2llm_lab.interpret.plots import plot_emotion_topomaps
    fig = plot_emotion_topomaps(fs)
    hover = {str(row[0]) for tr in fig.data if getattr(tr, "customdata", None) is not None for row in tr.customdata}
    assert set(CAP_1020) <= hover and not {"CB1", "POZ", "AF3"} & hover     # electrodes of this cap only
    from e2llm_lab.models.model import E2LLM
    back = E2LLM.from_pretrained(tmp_path / "model", device="cpu")           # the cap travels with the checkpoint
    assert back.encoder.ch_names == tuple(CAP_1020) and back.signatures.present.shape == (len(REGION_NAMES),)
    with pytest.raises(ValueError, match="test_subjects is required"):
        run_quickstart(features=fs, fast=True, out=tmp_path, verbose=False)
