"""Moved to :mod:`e2llm_lab.text.rationales` (grounded evidence sentences, learned emotion signatures).

This module keeps the old imports working.
"""
from .text.rationales import *  # noqa: F403
from .text.rationales import __all__  # noqa: F401
