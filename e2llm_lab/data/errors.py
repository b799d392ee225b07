"""The data layer's error types: every expected failure of reading EEG ends in one of these, in the toolkit's words.

Each message names the file (or recording), what was found (channel, shape, value) and what to do.
"""
from __future__ import annotations

__all__ = ["EEGDataError", "EEGFileError", "DatasetFolderError", "MissingChannelsError", "NoCapChannelsError"]


class EEGDataError(ValueError):
    """Bad EEG input: the message names the file or recording, channel, value, and what to do."""


class EEGFileError(EEGDataError):
    """A file that cannot be read as EEG: missing, corrupt, mislabelled, or of an unsupported layout."""


class DatasetFolderError(EEGFileError, FileNotFoundError):
    """A dataset's folder is neither under the root given nor the root itself (also a ``FileNotFoundError``)."""


class MissingChannelsError(EEGDataError):
    """The recording lacks channels of the SEED cap."""


class NoCapChannelsError(EEGDataError):
    """No channel of the recording could be matched onto the SEED cap (by name, rename or position)."""
