"""The SEED 62-channel cap: channel order, 2-D/3-D positions, brain regions and MNE montage.

SEED, SEED-IV and SEED-VII record with the ESI NeuroScan 62-channel cap in the order of
:data:`SEED_CH_NAMES`. Positions come from MNE's template 10-05 montage, except ``CB1``/``CB2``
(cerebellar sites absent from 10-05 templates), which are derived from the cap's polar layout.
"""
from __future__ import annotations

import re
from functools import lru_cache

import mne
import numpy as np

__all__ = [
    "SEED_CH_NAMES",
    "REGIONS",
    "REGION_NAMES",
    "REFERENCE_NAMES",
    "normalize_ch_name",
    "region_of",
    "region_index",
    "regions_present",
    "channel_positions_3d",
    "channel_positions_2d",
    "make_montage",
    "make_info",
]

SEED_CH_NAMES: tuple[str, ...] = (
    "FP1", "FPZ", "FP2", "AF3", "AF4",
    "F7", "F5", "F3", "F1", "FZ", "F2", "F4", "F6", "F8",
    "FT7", "FC5", "FC3", "FC1", "FCZ", "FC2", "FC4", "FC6", "FT8",
    "T7", "C5", "C3", "C1", "CZ", "C2", "C4", "C6", "T8",
    "TP7", "CP5", "CP3", "CP1", "CPZ", "CP2", "CP4", "CP6", "TP8",
    "P7", "P5", "P3", "P1", "PZ", "P2", "P4", "P6", "P8",
    "PO7", "PO5", "PO3", "POZ", "PO4", "PO6", "PO8",
    "CB1", "O1", "OZ", "O2", "CB2",
)

# Eleven regions with hemisphere splits, so asymmetry (left vs right frontal alpha) can be read off region
# tokens. Temporal regions include P7/P8 (old T5/T6); the midline keeps Fz..Pz together.
REGIONS: dict[str, tuple[str, ...]] = {
    "prefrontal": ("FP1", "FPZ", "FP2", "AF3", "AF4"),
    "left_frontal": ("F7", "F5", "F3", "F1", "FC5", "FC3", "FC1"),
    "right_frontal": ("F2", "F4", "F6", "F8", "FC2", "FC4", "FC6"),
    "left_temporal": ("FT7", "T7", "TP7", "P7"),
    "right_temporal": ("FT8", "T8", "TP8", "P8"),
    "left_central": ("C5", "C3", "C1", "CP5", "CP3", "CP1"),
    "midline": ("FZ", "FCZ", "CZ", "CPZ", "PZ"),
    "right_central": ("C2", "C4", "C6", "CP2", "CP4", "CP6"),
    "left_parietal": ("P5", "P3", "P1", "PO7", "PO5", "PO3"),
    "right_parietal": ("P2", "P4", "P6", "PO4", "PO6", "PO8"),
    "occipital": ("POZ", "CB1", "O1", "OZ", "O2", "CB2"),
}
REGION_NAMES: tuple[str, ...] = tuple(REGIONS)
_REGION_OF = {ch: r for r, chs in REGIONS.items() for ch in chs}

# Old 10-20 names still found in clinical EDF files.
_OLD_NAMES = {"T3": "T7", "T4": "T8", "T5": "P7", "T6": "P8"}
#: Reference electrodes (ear lobes, mastoids): kept as themselves by :func:`normalize_ch_name`, never on the cap.
REFERENCE_NAMES = ("A1", "A2", "M1", "M2")
# Vendor prefixes: "EEG Fp1" (EDF+ signal type), "POL Fp1" (Nihon Kohden exports).
_PREFIX = re.compile(r"^(EEG|POL)[\s_\-]+", re.IGNORECASE)
# Reference suffixes after a separator: "Fp1-REF", "Cz-LE", "T6-A2", "Fz_AVG".
_SUFFIX = re.compile(r"[\s_\-]+(REF|LE|RE|AVG|AR|CAR|A1|A2|M1|M2|A1A2|M1M2|LINKED)$", re.IGNORECASE)


def normalize_ch_name(name: str) -> str:
    """Normalise a recorded channel name to SEED's upper-case spelling.

    Strips vendor prefixes (``EEG``, ``POL``), reference suffixes after a separator (``-REF``, ``-LE``, ``-A1``
    ...), EDF padding dots and spaces; upper-cases; maps old 10-20 names (T3/T4/T5/T6) to 10-10 names. Reference
    electrodes (``A1``, ``A2``, ``M1``, ``M2``) stay themselves, and a name is never stripped to nothing.

    Examples
    --------
    >>> normalize_ch_name("EEG Fp1-REF")
    'FP1'
    >>> normalize_ch_name("A1")
    'A1'
    """
    n = name.strip().rstrip(".").strip()
    n = _PREFIX.sub("", n) or n
    n = (_SUFFIX.sub("", n) or n).strip().upper()
    return _OLD_NAMES.get(n, n)


def region_of(ch_name: str) -> str:
    """Region name of a SEED channel."""
    try:
        return _REGION_OF[normalize_ch_name(ch_name)]
    except KeyError:
        raise ValueError(f"channel {ch_name!r} is not on the SEED 62-channel cap; known: {SEED_CH_NAMES}") from None


def regions_present(ch_names=SEED_CH_NAMES) -> np.ndarray:
    """Which of :data:`REGION_NAMES` hold at least one of ``ch_names``: bool, shape ``(n_regions,)``.

    A cap smaller than SEED's (a clinical 10-20 montage, a few electrodes) keeps every region token, but a region
    without an electrode is empty: its pooled features and token are zero, and rationales never cite it.
    """
    return np.isin(np.arange(len(REGION_NAMES)), region_index(ch_names))


def region_index(ch_names=SEED_CH_NAMES) -> np.ndarray:
    """Region id (index into :data:`REGION_NAMES`) for each channel, shape ``(n_chans,)``."""
    return np.array([REGION_NAMES.index(region_of(ch)) for ch in ch_names], dtype=np.int64)


def _template_name() -> str:
    # MNE 1.13 renamed the 10-05 template "colin27_1005" and deprecated "standard_1005"; Colab may ship older MNE.
    return "colin27_1005" if "colin27_1005" in mne.channels.get_builtin_montages() else "standard_1005"


def _cart_to_sph(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # (n, 3) -> radius, azimuth from the nose (+y) towards the right ear (+x), polar angle from the vertex (+z)
    r = np.linalg.norm(xyz, axis=-1)
    az = np.arctan2(xyz[..., 0], xyz[..., 1])
    polar = np.arccos(np.clip(xyz[..., 2] / r, -1, 1))
    return r, az, polar


def _sph_to_cart(r, az, polar) -> np.ndarray:
    return np.stack([r * np.sin(polar) * np.sin(az), r * np.sin(polar) * np.cos(az), r * np.cos(polar)], axis=-1)


@lru_cache(maxsize=1)
def _positions() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    template = mne.channels.make_standard_montage(_template_name())
    pos = template.get_positions()
    by_upper = {k.upper(): np.asarray(v, float) for k, v in pos["ch_pos"].items()}
    known = np.array([by_upper[ch] for ch in SEED_CH_NAMES if ch in by_upper])
    # Least-squares sphere through the cap: |p|^2 = 2 c.p + (R^2 - |c|^2)
    A = np.c_[2 * known, np.ones(len(known))]
    sol = np.linalg.lstsq(A, (known**2).sum(1), rcond=None)[0]
    center, radius = sol[:3], float(np.sqrt(sol[3] + sol[:3] @ sol[:3]))
    xyz = {ch: by_upper[ch] for ch in SEED_CH_NAMES if ch in by_upper}
    # CB1/CB2: in the cap's polar layout they sit at PO7/PO8's azimuth one 10 % step (18 deg) below
    # the O1-Oz-O2 circle (EEGLAB radius 0.6 vs 0.5).
    for cb, po, o in (("CB1", "PO7", "O1"), ("CB2", "PO8", "O2")):
        _, az_po, _ = _cart_to_sph(xyz[po] - center)
        _, _, polar_o = _cart_to_sph(xyz[o] - center)
        xyz[cb] = center + _sph_to_cart(radius, az_po, polar_o + np.deg2rad(18.0))
    fids = {k: np.asarray(pos[k], float) for k in ("nasion", "lpa", "rpa")}
    fids["center"] = center
    return {ch: xyz[ch] for ch in SEED_CH_NAMES}, fids


def channel_positions_3d(ch_names=SEED_CH_NAMES) -> np.ndarray:
    """3-D positions in MNE head coordinates (metres), shape ``(n_chans, 3)``."""
    xyz, _ = _positions()
    return np.array([xyz[normalize_ch_name(ch)] for ch in ch_names])


def channel_positions_2d(ch_names=SEED_CH_NAMES) -> np.ndarray:
    """2-D polar-layout positions (EEGLAB style: vertex at 0, the Fpz-T7-Oz circle at radius 0.5).

    Returns
    -------
    pos : np.ndarray, shape (n_chans, 2)
        x towards the right ear, y towards the nose.
    """
    _, fids = _positions()
    _, az, polar = _cart_to_sph(channel_positions_3d(ch_names) - fids["center"])
    rad = polar / np.pi  # 90 deg -> 0.5
    return np.c_[rad * np.sin(az), rad * np.cos(az)]


def make_montage(ch_names=SEED_CH_NAMES) -> mne.channels.DigMontage:
    """MNE montage for the given SEED channels (CB1/CB2 included)."""
    _, fids = _positions()
    ch_pos = dict(zip(ch_names, channel_positions_3d(ch_names)))
    return mne.channels.make_dig_montage(
        ch_pos=ch_pos, nasion=fids["nasion"], lpa=fids["lpa"], rpa=fids["rpa"], coord_frame="head"
    )


def make_info(ch_names=SEED_CH_NAMES, sfreq: float = 200.0) -> mne.Info:
    """``mne.Info`` of EEG channels with the SEED montage set, ready for ``mne.viz.plot_topomap``.

    Parameters
    ----------
    ch_names : sequence of str
        SEED channel names (any case; normalised).
    sfreq : float
        Sampling frequency in Hz.
    """
    names = [normalize_ch_name(c) for c in ch_names]
    unknown = [c for c in names if c not in _REGION_OF]
    if unknown:
        raise ValueError(f"channels {unknown} are not on the SEED 62-channel cap; known: {SEED_CH_NAMES}")
    info = mne.create_info(list(names), sfreq=float(sfreq), ch_types="eeg")
    info.set_montage(make_montage(names))
    return info
