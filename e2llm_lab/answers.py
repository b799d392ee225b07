"""Moved to :mod:`e2llm_lab.text.answers` (reading an answer: label lines, checkable claims).

This module keeps the old imports working.
"""
from .text.answers import *  # noqa: F403
from .text.answers import __all__  # noqa: F401
