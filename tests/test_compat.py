"""Old module paths (``e2llm_lab.model``, ``e2llm_lab.preprocess``, ...) still import, warn, and forward."""
import importlib
import sys
import warnings

import pytest

import e2llm_lab
from e2llm_lab import _compat


@pytest.mark.parametrize("old", sorted(_compat.MOVED))
def test_an_old_path_warns_once_and_gives_the_names_of_its_home(old):
    sys.modules.pop(f"e2llm_lab.{old}", None)
    with pytest.warns(DeprecationWarning, match=rf"e2llm_lab\.{old} moved to e2llm_lab\."):
        module = importlib.import_module(f"e2llm_lab.{old}")
    homes = _compat.MOVED[old]
    for home in (homes,) if isinstance(homes, str) else homes:
        real = importlib.import_module(f"e2llm_lab.{home}")
        for name in getattr(real, "__all__", ()):
            assert getattr(module, name) is getattr(real, name), (old, home, name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                    # the second import is the cached module: no new warning
        assert importlib.import_module(f"e2llm_lab.{old}") is module
    with pytest.raises(AttributeError, match="moved to"):
        module.no_such_name  # noqa: B018


def test_old_preprocess_path_keeps_every_name_it_had():
    sys.modules.pop("e2llm_lab.preprocess", None)
    with pytest.warns(DeprecationWarning):
        from e2llm_lab.preprocess import (  # noqa: F401
            DE_METHODS,
            SEED_NFFT,
            EEGDataError,
            detect_bad_channels,
            differential_entropy,
            extract_features,
            featureset_from_recordings,
            lds_smooth,
            normalize_per_subject,
            preprocess_raw,
            validate_eeg,
            window_view,
        )
    from e2llm_lab.data.de import differential_entropy as home
    assert differential_entropy is home


def test_the_warning_names_the_line_that_imported():
    sys.modules.pop("e2llm_lab.train", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import e2llm_lab.train  # noqa: F401
    assert caught and caught[0].filename == __file__


def test_an_attribute_of_the_package_under_an_old_name_forwards_too():
    sys.modules.pop("e2llm_lab.llm", None)
    e2llm_lab.__dict__.pop("llm", None)
    with pytest.warns(DeprecationWarning, match="e2llm_lab.models.llm"):
        old = e2llm_lab.llm
    from e2llm_lab.models.llm import load_llm
    assert old.load_llm is load_llm


def test_unknown_names_still_fail():
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("e2llm_lab.no_such_module")
