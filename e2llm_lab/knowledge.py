"""Moved to :mod:`e2llm_lab.text.knowledge` (the world knowledge of the tiny LM's warm-up).

This module keeps the old imports working.
"""
from .text.knowledge import *  # noqa: F403
from .text.knowledge import __all__  # noqa: F401
