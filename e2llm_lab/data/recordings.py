"""A stream of labelled recordings -> window-level FeatureSet: preprocess each, DE per window, LDS, normalise.

Every reader that computes features from EEG ends here; :mod:`e2llm_lab.preprocess` re-exports these names.
"""
from __future__ import annotations

import mne
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..config import DataConfig
from ..labels import LabelSpaceError, get_label_space
from .de import differential_entropy, lds_smooth
from .errors import EEGDataError
from .featureset import FeatureSet
from .filtering import preprocess_raw, validate_eeg

__all__ = ["extract_features", "featureset_from_recordings"]


def extract_features(raw: mne.io.BaseRaw, cfg: DataConfig = DataConfig(), *, preprocess: bool = True,
                     source=None) -> np.ndarray:
    """DE features of one recording: (optionally) preprocess, DE per window, (optionally) LDS.

    Returns
    -------
    de : np.ndarray, shape (n_windows, n_chans, n_bands), float32
    """
    if preprocess:
        raw = preprocess_raw(raw, cfg, source=source)
    data = raw.get_data(picks="eeg") * 1e6                  # volts -> microvolts, as SEED stores EEG
    if not preprocess:
        validate_eeg(data, raw.info["sfreq"], raw.ch_names, bands=cfg.bands, window_s=cfg.window_s, source=source)
    de = differential_entropy(data, raw.info["sfreq"], bands=cfg.bands, window_s=cfg.window_s,
                              stride_s=cfg.stride_s, method=cfg.de_method)
    if cfg.lds:
        de = lds_smooth(de, q=cfg.lds_q, r=cfg.lds_r)
    return de.astype(np.float32)


def featureset_from_recordings(recordings, cfg: DataConfig = DataConfig(), *, preprocess: bool = True,
                               total: int | None = None, progress: bool = True, label_space="seed7"):
    """Build a window-level :class:`~e2llm_lab.data.featureset.FeatureSet` from a stream of recordings.

    Recordings are processed one at a time (memory does not grow with their number); each window becomes
    one sample with ``n_steps = 1``. Per-subject normalisation (``cfg.normalize``) is applied at the end;
    use ``FeatureSet.with_steps(cfg.n_steps)`` to make encoder samples.

    Parameters
    ----------
    recordings : iterable of (mne.io.BaseRaw, dict)
        Each dict holds at least subject, trial and emotion (a label of ``label_space``, any synonym); session
        defaults to 1; valence/arousal default to the space's coordinates of the label (NaN where the space has
        none). Any other key but ``source`` (ratings, say) becomes a meta column of its own.
    label_space : LabelSpace or str
        The labels the rows use (default SEED-VII's seven); travels with the FeatureSet.

    Raises
    ------
    EEGDataError
        When the stream yields nothing, or a row names a label outside ``label_space``.
    """
    # Row keys with a meaning of their own; any other key becomes a meta column.
    row_keys = frozenset({"subject", "session", "trial", "emotion", "valence", "arousal", "source"})
    space = get_label_space(label_space)
    stream = iter(recordings)
    first = next(stream, None)
    if first is None:
        raise EEGDataError("no recordings to compute features from: the reader yielded no (raw, row) pair; check "
                           "that the folder holds the dataset's files and that the labels and subjects asked for "
                           "exist there")
    feats, rows, ch_names = [], [], []

    def add(raw, row) -> None:
        src = row.get("source") or f"subject {row['subject']} trial {row['trial']}"
        try:
            label = space.normalize(row["emotion"])
        except LabelSpaceError:
            raise EEGDataError(f"{src}: label {row['emotion']!r} is not in the {space.name!r} label space "
                               f"{space.labels}; pass label_space= the dataset's space or map the label onto "
                               f"it") from None
        de = extract_features(raw, cfg, preprocess=preprocess, source=src)
        if not ch_names:
            ch_names.extend(raw.copy().pick("eeg").ch_names)
        extra = {k: v for k, v in row.items() if k not in row_keys}
        base = {"subject": row["subject"], "session": row.get("session", 1), "trial": row["trial"],
                "emotion": label, "valence": row.get("valence", space.valence_of(label)),
                "arousal": row.get("arousal", space.arousal_of(label))}
        rows.extend({**base, "start_window": w, **extra} for w in range(de.shape[0]))
        feats.append(de)

    # the first recording is read before the bar opens: a bad file or folder fails with no empty "0it" bar above
    add(*first)
    for raw, row in tqdm(stream, total=total, initial=1, desc="DE features", disable=not progress):
        add(raw, row)
    X = np.concatenate(feats)[:, None]                      # (N, C, F) -> (N, 1, C, F)
    meta = pd.DataFrame(rows)
    fixed = ["subject", "session", "trial", "start_window", "emotion", "valence", "arousal"]
    meta = meta[fixed + [c for c in meta.columns if c not in fixed]]
    fs = FeatureSet(X=X, meta=meta, ch_names=tuple(ch_names), bands=tuple(cfg.bands),
                    feature=f"de_{cfg.de_method}" + ("_lds" if cfg.lds else ""), label_space=space)
    return fs.normalized(cfg.normalize)
