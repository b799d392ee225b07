"""Band features you already have as arrays (band power per window, channel and band) -> a window-level FeatureSet.

Many public emotion datasets and course projects share features, not recordings: one array of band powers, one
subject and one label per window. :func:`featureset_from_arrays` turns them into the FeatureSet every stage reads,
with the data's own channels, bands and label space.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..labels import LabelSpace
from .featureset import FeatureSet

__all__ = ["featureset_from_arrays"]


def featureset_from_arrays(power: np.ndarray, *, subject, labels, label_space: LabelSpace, ch_names, bands,
                           trial=None, window=None, log: bool = True, normalize: str | None = "subject",
                           feature: str = "log_bandpower") -> FeatureSet:
    """Window-level features from arrays: ``X`` of shape (n_windows, 1, n_chans, n_bands).

    Parameters
    ----------
    power : np.ndarray, shape (n_windows, n_chans, n_bands)
        Band power (or any band feature) per window, channel and band.
    subject : array, shape (n_windows,)
        The person each window comes from (splits and normalisation are by subject).
    labels : array, shape (n_windows,)
        Integer labels (indices into ``label_space.labels``) or label names.
    label_space : LabelSpace
        The data's own labels, saved with the FeatureSet and every model trained on it.
    ch_names : sequence of str, length n_chans
    bands : sequence of (name, low, high), length n_bands
    trial : array, shape (n_windows,), optional
        The recording (clip, game, trial) each window belongs to; default one per subject and label. Samples of
        several windows never cross a trial, and no trial sits on both sides of a split.
    window : array, shape (n_windows,), optional
        Each window's index within its trial; default the order of appearance.
    log : bool
        Take ``log10`` of positive powers first (band power is log-normal; DE is a log too).
    normalize : {"subject", None}
        z-score every channel x band feature with the subject's own statistics.

    Raises
    ------
    ValueError
        Naming the array whose length or shape does not fit, a label outside the space, or non-positive power
        with ``log=True``.
    """
    power = np.asarray(power, dtype=np.float64)
    if power.ndim != 3 or power.shape[1:] != (len(ch_names), len(bands)):
        raise ValueError(f"power must be (n_windows, {len(ch_names)} channels, {len(bands)} bands), got shape "
                         f"{power.shape}")
    n = len(power)
    given = {"subject": subject, "labels": labels, "trial": trial, "window": window}
    for name, values in given.items():
        if values is not None and len(values) != n:
            raise ValueError(f"{name} has {len(values)} entries for {n} windows of power")
    if log:
        bad = np.argwhere(~(power > 0))
        if len(bad):
            w, c, b = bad[0]
            raise ValueError(f"power[{w}, {c}, {b}] (channel {ch_names[c]}, band {bands[b][0]}) is {power[w, c, b]}: "
                             f"log=True needs positive band power; pass log=False for features that are logs already")
        power = np.log10(power)
    names = _label_names(labels, label_space)
    meta = pd.DataFrame({"subject": np.asarray(subject), "session": 1, "emotion": names})
    meta["trial"] = (pd.factorize(meta.emotion)[0] + 1 if trial is None else np.asarray(trial))
    meta["start_window"] = (meta.groupby(["subject", "trial"]).cumcount().to_numpy() if window is None
                            else np.asarray(window))
    va = dict(label_space.valence or {}), dict(label_space.arousal or {})
    meta["valence"] = meta.emotion.map(va[0]).astype(float) if va[0] else np.nan
    meta["arousal"] = meta.emotion.map(va[1]).astype(float) if va[1] else np.nan
    order = np.lexsort((meta.start_window, meta.trial, meta.subject.astype(str)))      # windows of a trial in order
    fs = FeatureSet(power[order, None].astype(np.float32), meta.iloc[order], tuple(ch_names),
                    tuple((str(b[0]), float(b[1]), float(b[2])) for b in bands), feature=feature,
                    label_space=label_space)
    return fs.normalized(normalize)


def _label_names(labels, space: LabelSpace) -> list[str]:
    values = list(labels)
    if all(isinstance(v, (int, np.integer)) for v in values):
        bad = sorted({int(v) for v in values if not 0 <= int(v) < len(space)})
        if bad:
            raise ValueError(f"integer labels {bad[:5]} are outside the {space.name!r} space's 0..{len(space) - 1} "
                             f"{space.labels}")
        return [space.labels[int(v)] for v in values]
    unknown = sorted({str(v) for v in values} - set(space.labels))
    if unknown:
        raise ValueError(f"labels {unknown[:5]} are not in the {space.name!r} space {space.labels}")
    return [str(v) for v in values]
