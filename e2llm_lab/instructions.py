"""Moved to :mod:`e2llm_lab.text.instructions` (task templates, instruction examples and their mix).

This module keeps the old imports working.
"""
from .text.instructions import *  # noqa: F403
from .text.instructions import __all__  # noqa: F401
