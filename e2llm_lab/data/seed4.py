"""Reader for the SEED-IV dataset (Zheng et al. 2019) in its official layout (licence from BCMI, SJTU).

Layout::

    <root>/eeg_raw_data/<session>/<subject>_<date>.mat        keys '<initials>_eeg1'..'<initials>_eeg24':
                                                              (62, n_times), 200 Hz, microvolts, SEED order
    <root>/eeg_feature_smooth/<session>/<subject>_<date>.mat  keys de_LDS1..24, de_movingAve1..24, psd_LDS1..24,
                                                              psd_movingAve1..24: (62, n_windows, 5), 4-s windows

``<session>`` is the folder 1, 2 or 3. The 24 trial labels of each session are the same for every subject; they
ship here as :data:`SEED4_SESSION_LABELS`, from the dataset's ReadMe (codes 0 neutral, 1 sad, 2 fear, 3 happy:
the :data:`~e2llm_lab.labels.SEED4` space).

``root`` may be the dataset root or its ``eeg_raw_data`` (``eeg_feature_smooth``) folder itself, as TorchEEG's
``SEEDIVDataset(root_path='./eeg_raw_data')`` takes it.
"""
from __future__ import annotations

import re
from pathlib import Path

import mne
from tqdm.auto import tqdm

from ..channels import SEED_CH_NAMES, make_info
from ..config import DataConfig
from ..labels import SEED4
from ._readers import (
    EEG_KEY,
    SEED_FEATURE_BANDS,
    check_trial,
    feature_set,
    feature_trials,
    find_folder,
    keep_subjects,
    legacy_positional,
    loadmat,
    matching,
    own_label_space,
)
from .errors import EEGFileError
from .featureset import FeatureSet, check_normalize
from .recordings import featureset_from_recordings

__all__ = ["SEED4_SESSION_LABELS", "list_seed4_files", "iter_seed4_eeg", "read_seed4_features", "read_seed4"]

SFREQ = 200.0
N_TRIALS = 24
#: Label codes of the 24 trials of sessions 1, 2, 3 (the dataset's ReadMe); 0 neutral, 1 sad, 2 fear, 3 happy.
SEED4_SESSION_LABELS: tuple[tuple[int, ...], ...] = (
    (1, 2, 3, 0, 2, 0, 0, 1, 0, 1, 2, 1, 1, 1, 2, 3, 2, 2, 3, 3, 0, 3, 0, 3),
    (2, 1, 3, 0, 0, 2, 0, 2, 3, 3, 2, 3, 2, 0, 1, 1, 2, 1, 0, 3, 0, 1, 3, 1),
    (1, 2, 2, 1, 3, 3, 3, 1, 1, 2, 1, 0, 2, 3, 3, 0, 2, 3, 0, 0, 2, 0, 1, 0),
)
_FILE = re.compile(r"^(\d+)_(\d{8})\.mat$")
_LAYOUT = "SEED-IV's layout <root>/eeg_raw_data/<1|2|3>/<subject>_<date>.mat (and <root>/eeg_feature_smooth/<1|2|3>/)"


def _folder(root, name: str) -> Path:
    return find_folder(root, name, dataset="SEED-IV", layout=_LAYOUT)


def _list_files(base: Path, subjects) -> list[tuple]:
    found = [(s, session, p) for session in (1, 2, 3) for s, _date, p in matching(base / str(session), _FILE)]
    if not found:
        raise EEGFileError(f"{base}/1, /2 and /3 hold no <subject>_<date>.mat file (e.g. 1_20160518.mat); is this "
                           f"SEED-IV's {base.name} folder?")
    return keep_subjects(found, subjects, base)


def list_seed4_files(root, folder: str = "eeg_raw_data", *, subjects=None) -> list[tuple]:
    """``(subject, session, path)`` of every ``root/folder/<session>/<subject>_<date>.mat``, subject-major.

    ``root`` may also be the folder itself.
    """
    return _list_files(_folder(root, folder), subjects)


def _label(session: int, trial: int) -> str:
    return SEED4.labels[SEED4_SESSION_LABELS[session - 1][trial - 1]]


def iter_seed4_eeg(root, *, subjects=None, progress: bool = False):
    """Yield ``(raw, row)`` for every trial of SEED-IV's EEG (``eeg_raw_data/``), one file at a time.

    Parameters
    ----------
    root : path
        The dataset root, or its ``eeg_raw_data`` folder itself.

    Yields
    ------
    raw : mne.io.RawArray
        62 channels in volts, SEED order, 200 Hz.
    row : dict
        subject, session (the folder 1..3), trial (1..24), emotion, source.
    """
    yield from _iter_eeg(list_seed4_files(root, subjects=subjects), progress)


def _iter_eeg(files: list, progress: bool):
    info = make_info(SEED_CH_NAMES, SFREQ)
    for subject, session, path in tqdm(files, desc="SEED-IV files", disable=not progress):
        mat = loadmat(path, what="SEED-IV EEG with keys <initials>_eeg1..24")
        keys = {int(m.group(2)): k for k in mat if (m := EEG_KEY.match(k))}
        missing = [t for t in range(1, N_TRIALS + 1) if t not in keys]
        if missing:
            raise EEGFileError(f"{path} lacks key(s) <initials>_eeg{missing[:5]}; expected <initials>_eeg1..24, "
                               f"found {sorted(k for k in mat if not k.startswith('__'))[:8]}")
        for trial in range(1, N_TRIALS + 1):
            data = check_trial(mat[keys[trial]], path, keys[trial])
            raw = mne.io.RawArray(data * 1e-6, info.copy(), verbose="error")    # microvolts -> volts
            yield raw, {"subject": subject, "session": session, "trial": trial, "emotion": _label(session, trial),
                        "source": f"{path} key {keys[trial]}"}
        del mat


def read_seed4_features(root, *, subjects=None, kind: str = "de_LDS", normalize: str | None = "subject",
                        progress: bool = True) -> FeatureSet:
    """SEED-IV's shipped features (``eeg_feature_smooth/``) as a window-level FeatureSet (``n_steps = 1``).

    ``root`` is the dataset root or its ``eeg_feature_smooth`` folder itself.

    Returns
    -------
    FeatureSet
        X of shape (n_windows_total, 1, 62, 5) over 4-s windows, bands
        :data:`~e2llm_lab.data.seed.SEED_FEATURE_BANDS`, label space SEED4.
    """
    if kind not in ("de_LDS", "de_movingAve", "psd_LDS", "psd_movingAve"):
        raise ValueError(f"kind={kind!r}; allowed: 'de_LDS', 'de_movingAve', 'psd_LDS', 'psd_movingAve'")
    check_normalize(normalize)
    folder = _folder(root, "eeg_feature_smooth")
    blocks, rows = [], []
    for subject, session, path in tqdm(_list_files(folder, subjects), desc="SEED-IV feature files",
                                       disable=not progress):
        mat = loadmat(path, what=f"SEED-IV features with keys {kind}1..24")
        feature_trials(mat, path, kind, N_TRIALS, lambda trial, session=session: _label(session, trial), SEED4,
                       {"subject": subject, "session": session}, blocks, rows)
    return feature_set(blocks, rows, bands=SEED_FEATURE_BANDS, feature=f"seed4_{kind}", label_space=SEED4,
                       normalize=normalize, root=folder)


@legacy_positional("cfg")
def read_seed4(root, *, cfg: DataConfig = DataConfig(), subjects=None, label_space=None, from_features: bool = False,
               kind: str = "de_LDS", progress: bool = True) -> FeatureSet:
    """SEED-IV as a FeatureSet: DE computed here from ``eeg_raw_data/``, or the shipped features.

    ``root`` is the dataset root, or its ``eeg_raw_data`` (``eeg_feature_smooth`` with ``from_features``) folder
    itself; ``label_space`` may only name SEED4, the default.
    """
    own_label_space(label_space, SEED4, "SEED-IV")
    if from_features:
        return read_seed4_features(root, subjects=subjects, kind=kind, normalize=cfg.normalize, progress=progress)
    files = list_seed4_files(root, subjects=subjects)
    return featureset_from_recordings(_iter_eeg(files, False), cfg, total=len(files) * N_TRIALS, progress=progress,
                                      label_space=SEED4)
