"""Reader for the SEED-VII dataset in its official layout (the data need a licence from BCMI, SJTU).

Layout::

    <root>/EEG_preprocessed/<subject>.mat   keys '1'..'80': float arrays (62, n_times), 200 Hz, microvolts
    <root>/EEG_features/<subject>.mat       keys de_k, de_LDS_k, psd_k (k = 1..80): arrays (n_windows, 5, 62)
                                            over 4-s windows, bands delta, theta, alpha, beta, gamma

The clip-to-emotion mapping defaults to :func:`default_seed7_labels`, the order third-party loaders agree on
(verify it against the dataset's own label file before you report results). A CSV you write from the dataset's
label sheet overrides it:

.. code-block:: text

    clip,emotion
    1,happiness
    2,neutral
    ...

``clip`` is 1..80; ``emotion`` one of the seven SEED-VII emotions (case and common synonyms such as
"happy" accepted). An optional ``subject`` column restricts a row to one subject, for per-subject orders.
Clips 1-20 are session 1, 21-40 session 2, and so on.

``root`` may be the dataset root or its ``EEG_preprocessed`` (``EEG_features``) folder itself.
"""
from __future__ import annotations

from pathlib import Path

import mne
import numpy as np
import pandas as pd

from ..channels import SEED_CH_NAMES, make_info
from ..config import DEFAULT_BANDS, DataConfig
from ..emotions import AROUSAL, EMOTIONS, VALENCE, normalize_emotion
from ..labels import SEED7
from ._readers import find_folder, legacy_positional, loadmat, own_label_space, sort_key
from .errors import EEGDataError
from .featureset import FeatureSet, check_normalize
from .recordings import featureset_from_recordings

__all__ = ["N_CLIPS", "FEATURE_KINDS", "SEED7_SESSION_ORDER", "default_seed7_labels", "read_seed7_labels",
           "list_subjects", "iter_seed7_eeg", "read_seed7_features", "read_seed7"]

N_CLIPS = 80
CLIPS_PER_SESSION = 20
SFREQ = 200.0
FEATURE_KINDS = ("de", "de_LDS", "psd")

#: Emotions of clips 1-10 of each of the four sessions; clips 11-20 of a session repeat clips 1-10. This is the
#: order third-party SEED-VII loaders agree on; check it against the dataset's own label file, and pass your
#: CSV (:func:`read_seed7_labels`) where they differ.
SEED7_SESSION_ORDER: tuple[tuple[str, ...], ...] = (
    ("happiness", "neutral", "disgust", "sadness", "anger", "anger", "sadness", "disgust", "neutral", "happiness"),
    ("anger", "sadness", "fear", "neutral", "surprise", "surprise", "neutral", "fear", "sadness", "anger"),
    ("happiness", "surprise", "disgust", "fear", "anger", "anger", "fear", "disgust", "surprise", "happiness"),
    ("disgust", "sadness", "fear", "surprise", "happiness", "happiness", "surprise", "fear", "sadness", "disgust"),
)
# SEED-VII's design: 80 clips, 12 of each emotion but neutral, which has 8.
_EXPECTED_COUNTS = {e: (8 if e == "neutral" else 12) for e in EMOTIONS}


def default_seed7_labels() -> pd.DataFrame:
    """The default clip-to-emotion table: columns clip (1..80) and emotion, from :data:`SEED7_SESSION_ORDER`.

    Checked on every call against the dataset's design (12 clips per emotion, 8 neutral).
    """
    rows = []
    for session, first_ten in enumerate(SEED7_SESSION_ORDER):
        for k in range(CLIPS_PER_SESSION):
            rows.append({"clip": session * CLIPS_PER_SESSION + k + 1, "emotion": first_ten[k % 10]})
    table = pd.DataFrame(rows)
    counts = table.emotion.value_counts().to_dict()
    if counts != _EXPECTED_COUNTS or len(table) != N_CLIPS:
        raise AssertionError(f"default SEED-VII table has counts {counts}, expected {_EXPECTED_COUNTS}")
    return table


def read_seed7_labels(path) -> pd.DataFrame:
    """Read the clip-to-emotion CSV (format in the module docstring).

    Returns
    -------
    pd.DataFrame
        Columns clip, emotion (canonical names), and subject if the file has it.
    """
    path = Path(path)
    try:
        table = pd.read_csv(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"label CSV not found: {path}") from None
    table.columns = [c.strip().lower() for c in table.columns]
    missing = {"clip", "emotion"} - set(table.columns)
    if missing:
        raise ValueError(f"{path}: label CSV lacks column(s) {sorted(missing)}; expected header 'clip,emotion' "
                         f"(optionally 'subject'), got {list(table.columns)}")
    bad_emotion, emotions = [], []
    for i, word in enumerate(table["emotion"]):
        try:
            emotions.append(normalize_emotion(word))
        except ValueError:
            bad_emotion.append((i + 2, word))          # +2: header line and 1-based lines
            emotions.append(None)
    if bad_emotion:
        raise ValueError(f"{path}: unknown emotion(s) at (line, value) {bad_emotion[:5]}; allowed: {EMOTIONS}")
    clips = pd.to_numeric(table["clip"], errors="coerce")
    bad_clip = [(i + 2, v) for i, (v, c) in enumerate(zip(table["clip"], clips)) if not (1 <= c <= N_CLIPS)]
    if bad_clip:
        raise ValueError(f"{path}: clip numbers must be 1..{N_CLIPS}; bad (line, value): {bad_clip[:5]}")
    table = table.assign(clip=clips.astype(int), emotion=emotions)
    dup = table.duplicated([c for c in ("subject", "clip") if c in table.columns])
    if dup.any():
        raise ValueError(f"{path}: clip(s) listed twice: {sorted(table['clip'][dup].unique().tolist())[:10]}")
    return table


def _emotion_of(labels: pd.DataFrame, subject, clip: int) -> str | None:
    rows = labels[labels["clip"] == clip]
    if "subject" in labels.columns:
        own = rows[rows["subject"].astype(str) == str(subject)]
        rows = own if len(own) else rows[rows["subject"].isna()]
    return rows["emotion"].iloc[0] if len(rows) else None


def _subject_id(stem: str):
    return int(stem) if stem.isdigit() else stem


def _folder(root, name: str) -> Path:
    return find_folder(root, name, dataset="SEED-VII",
                       layout=f"SEED-VII's layout {Path(root)}/EEG_preprocessed and {Path(root)}/EEG_features")


def _subjects_in(d: Path) -> list:
    found = sorted((_subject_id(p.stem) for p in d.glob("*.mat")), key=sort_key)
    if not found:
        raise FileNotFoundError(f"{d} holds no <subject>.mat file; expected SEED-VII's {d.name}/1.mat, 2.mat, ... "
                                f"(keys '1'..'80' in EEG_preprocessed, de_k/de_LDS_k/psd_k in EEG_features). For "
                                f"another dataset pass --dataset (seed, seed4, seed5, deap, dreamer, faced, bids, "
                                f"events)")
    return found


def list_subjects(root, folder: str = "EEG_features") -> list:
    """Subject ids found under ``root/folder`` (or ``root`` = that folder): file stems, as ints where numeric."""
    return _subjects_in(_folder(root, folder))


def _loadmat(path: Path) -> dict:
    return loadmat(path, what="a SEED-VII subject file (keys '1'..'80', or de_k/de_LDS_k/psd_k)")


def _numbered_keys(mat: dict, prefix: str = "") -> list[int]:
    """Clip numbers of the keys ``<prefix><k>`` in a loaded .mat file, sorted as numbers ('2' before '10')."""
    out = []
    for key in mat:
        tail = key[len(prefix):] if key.startswith(prefix) else ""
        if tail.isdigit() and 1 <= int(tail) <= N_CLIPS:
            out.append(int(tail))
    return sorted(out)


def _labels_table(labels) -> pd.DataFrame:
    if labels is None:
        return default_seed7_labels()
    return labels if isinstance(labels, pd.DataFrame) else read_seed7_labels(labels)


@legacy_positional("labels")
def iter_seed7_eeg(root, *, subjects=None, labels=None):
    """Yield ``(raw, row)`` for every labelled clip of SEED-VII's preprocessed EEG, one at a time.

    Parameters
    ----------
    root : path
        Dataset folder holding ``EEG_preprocessed/``, or that folder itself.
    subjects : list, optional
        Subject ids; default all files found.
    labels : pd.DataFrame or path, optional
        Clip-to-emotion table (:func:`read_seed7_labels`); default :func:`default_seed7_labels`. Also accepted
        second, positionally (the older form).

    Yields
    ------
    raw : mne.io.RawArray
        62 channels in volts, SEED montage.
    row : dict
        subject, session, trial (= clip), emotion, valence, arousal, source.
    """
    yield from _iter_eeg(_folder(root, "EEG_preprocessed"), subjects, labels)


def _iter_eeg(d: Path, subjects, labels):
    labels = _labels_table(labels)
    subjects = _subjects_in(d) if subjects is None else subjects
    info = make_info(SEED_CH_NAMES, SFREQ)
    for s in subjects:
        path = d / f"{s}.mat"
        mat = _loadmat(path)
        for clip in _numbered_keys(mat):
            emotion = _emotion_of(labels, s, clip)
            if emotion is None:
                continue
            data = np.asarray(mat[str(clip)], dtype=np.float64)
            if data.ndim != 2 or data.shape[0] != len(SEED_CH_NAMES):
                raise EEGDataError(f"{path} key '{clip}': expected (62, n_times) EEG, got shape {data.shape}")
            raw = mne.io.RawArray(data * 1e-6, info.copy(), verbose="error")    # microvolts -> volts
            yield raw, {"subject": s, "session": (clip - 1) // CLIPS_PER_SESSION + 1, "trial": clip,
                        "emotion": emotion, "valence": VALENCE[emotion], "arousal": AROUSAL[emotion],
                        "source": f"{path} clip {clip}"}


@legacy_positional("labels")
def read_seed7_features(root, *, subjects=None, labels=None, kind: str = "de_LDS",
                        normalize: str | None = "subject") -> FeatureSet:
    """SEED-VII's precomputed features as a window-level FeatureSet (``n_steps = 1``).

    Parameters
    ----------
    root : path
        Dataset folder holding ``EEG_features/``, or that folder itself.
    subjects : list, optional
    labels : pd.DataFrame or path, optional
        Clip-to-emotion table; default :func:`default_seed7_labels`. Also accepted second, positionally.
    kind : {"de", "de_LDS", "psd"}
    normalize : {"subject", None}
        Per-subject z-scoring (see :func:`e2llm_lab.data.featureset.normalize_per_subject`).

    Returns
    -------
    FeatureSet
        X of shape (n_windows_total, 1, 62, 5); use ``.with_steps(n)`` for sequences.
    """
    if kind not in FEATURE_KINDS:
        raise ValueError(f"kind={kind!r}; allowed: {FEATURE_KINDS}")
    check_normalize(normalize)
    labels = _labels_table(labels)
    d = _folder(root, "EEG_features")
    subjects = _subjects_in(d) if subjects is None else subjects
    feats, rows = [], []
    for s in subjects:
        path = d / f"{s}.mat"
        mat = _loadmat(path)
        for clip in _numbered_keys(mat, f"{kind}_"):
            key, emotion = f"{kind}_{clip}", _emotion_of(labels, s, clip)
            if emotion is None:
                continue
            a = np.asarray(mat[key], dtype=np.float32)
            if a.ndim != 3 or a.shape[1:] != (len(DEFAULT_BANDS), len(SEED_CH_NAMES)):
                raise EEGDataError(f"{path} key '{key}': expected (n_windows, 5, 62), got shape {a.shape}")
            if not np.isfinite(a).all():
                raise EEGDataError(f"{path} key '{key}' holds NaN/Inf values; re-extract that clip's features")
            feats.append(a.transpose(0, 2, 1))                  # (n_windows, 5, 62) -> (n_windows, 62, 5)
            rows += [{"subject": s, "session": (clip - 1) // CLIPS_PER_SESSION + 1, "trial": clip,
                      "start_window": w, "emotion": emotion, "valence": VALENCE[emotion],
                      "arousal": AROUSAL[emotion]} for w in range(a.shape[0])]
    if not feats:
        raise ValueError(f"no labelled {kind} features found under {d} for subjects {subjects}")
    X = np.concatenate(feats)[:, None]                          # (N, C, F) -> (N, 1, C, F)
    fs = FeatureSet(X, pd.DataFrame(rows), SEED_CH_NAMES, DataConfig().bands, feature=f"seed7_{kind}")
    return fs.normalized(normalize)


def read_seed7(root, *, cfg: DataConfig = DataConfig(), subjects=None, label_space=None, labels=None,
               from_features: bool = False, kind: str = "de_LDS", progress: bool = True) -> FeatureSet:
    """SEED-VII as a FeatureSet: DE computed here from ``EEG_preprocessed/``, or the shipped ``EEG_features/``.

    Parameters
    ----------
    root : path
        The dataset root, or its ``EEG_preprocessed`` (``EEG_features`` with ``from_features``) folder itself.
    cfg : DataConfig
        Preprocessing and DE settings; ``cfg.normalize`` applies to both paths.
    label_space : optional
        Only SEED-VII's own space (the default).
    labels : pd.DataFrame or path, optional
        Clip-to-emotion table (:func:`read_seed7_labels`); default :func:`default_seed7_labels`.
    from_features : bool
        Read the shipped features of ``kind`` (:func:`read_seed7_features`) instead of computing DE.
    """
    own_label_space(label_space, SEED7, "SEED-VII")
    if from_features:
        return read_seed7_features(root, subjects=subjects, labels=labels, kind=kind, normalize=cfg.normalize)
    return featureset_from_recordings(_iter_eeg(_folder(root, "EEG_preprocessed"), subjects, labels), cfg,
                                      progress=progress)
