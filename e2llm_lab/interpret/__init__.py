"""Interpretation: topographic figures (and, with the encoder and LLM stages, attributions and attention)."""
from .plots import (emotion_band_contrast, plot_band_topomaps, plot_cap, plot_emotion_topomaps, plot_topomap,
                    plot_topomap_static)

__all__ = ["emotion_band_contrast", "plot_band_topomaps", "plot_cap", "plot_emotion_topomaps", "plot_topomap",
           "plot_topomap_static"]
