"""Interpretation: attributions (captum), their views (plotly, MNE, nilearn), attention maps, EEG tokens.
"""
from __future__ import annotations

from .._lazy import lazy_exports

#: Public name -> the module of this package that defines it (imported on first use).
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(("attention_rollout", "encoder_attention", "llm_eeg_attention", "mean_spatial_attention",
                     "plot_attention_matrix", "plot_llm_attention_topomap", "plot_llm_eeg_attention"), ".attention"),
    **dict.fromkeys(("FLOORS", "METHODS", "Attribution", "Attributor", "attribute", "deletion_curve",
                     "e2llm_log_probs", "e2llm_target", "encoder_target", "sanity_check", "score_attribution"),
                    ".attribution"),
    "nearest_text_tokens": ".eeg_tokens",
    **dict.fromkeys(("E2LLMScores", "EncoderScores", "WhiteBox", "attribution_table", "class_target"), ".metrics"),
    **dict.fromkeys(("emotion_band_contrast", "plot_band_topomaps", "plot_cap", "plot_emotion_topomaps",
                     "plot_history", "plot_topomap", "plot_topomap_static"), ".plots"),
    **dict.fromkeys(("electrode_coords_mm", "plot_attribution_static", "plot_attribution_topomap",
                     "plot_band_heatmap", "plot_deletion_curve", "plot_markers_3d", "plot_region_bars",
                     "view_attention_connectome", "view_markers_3d"), ".views"),
    **dict.fromkeys(("Explorer", "evidence_html", "reasoning_html"), ".widgets"),
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
