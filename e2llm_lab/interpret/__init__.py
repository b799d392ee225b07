"""Interpretation: topographic figures, attention maps (and, with the LLM stages, attributions)."""
from .eeg_tokens import nearest_text_tokens
from .attention import mean_spatial_attention, plot_attention_matrix, plot_history
from .plots import (emotion_band_contrast, plot_band_topomaps, plot_cap, plot_emotion_topomaps, plot_topomap,
                    plot_topomap_static)

__all__ = ["emotion_band_contrast", "plot_band_topomaps", "plot_cap", "plot_emotion_topomaps", "plot_topomap",
           "plot_topomap_static", "mean_spatial_attention", "plot_attention_matrix", "plot_history",
           "nearest_text_tokens"]
