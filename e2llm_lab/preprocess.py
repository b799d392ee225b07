"""Preprocessing and band features: filtering with MNE, windowing, differential entropy, LDS smoothing.

The code lives in the data layer, below the readers that compute features with it:

- :mod:`e2llm_lab.data.filtering`: :func:`validate_eeg`, :func:`detect_bad_channels`, :func:`preprocess_raw`
- :mod:`e2llm_lab.data.de`: :func:`window_view`, :func:`differential_entropy`, :func:`lds_smooth`
- :mod:`e2llm_lab.data.recordings`: :func:`extract_features`, :func:`featureset_from_recordings`

This module is the pipeline step's name (``data -> preprocess -> encoder``): it gathers those names so
``from e2llm_lab.preprocess import differential_entropy`` keeps working. It imports only from the data layer.
"""
from __future__ import annotations

from .data.de import DE_METHODS, SEED_NFFT, differential_entropy, lds_smooth, window_view
from .data.errors import EEGDataError
from .data.featureset import FeatureSet as FeatureSet  # importable from here before the move
from .data.featureset import normalize_per_subject
from .data.filtering import detect_bad_channels, preprocess_raw, validate_eeg
from .data.recordings import extract_features, featureset_from_recordings

__all__ = [
    "EEGDataError",
    "validate_eeg",
    "detect_bad_channels",
    "preprocess_raw",
    "window_view",
    "DE_METHODS",
    "SEED_NFFT",
    "differential_entropy",
    "lds_smooth",
    "normalize_per_subject",
    "extract_features",
    "featureset_from_recordings",
]
