"""Interpretation: attributions (captum), their views (plotly, MNE, nilearn), attention maps, EEG tokens."""
from .attention import (
                        attention_rollout,
                        encoder_attention,
                        llm_eeg_attention,
                        mean_spatial_attention,
                        plot_attention_matrix,
                        plot_llm_attention_topomap,
                        plot_llm_eeg_attention,
)
from .attribution import (
                        FLOORS,
                        METHODS,
                        Attribution,
                        Attributor,
                        attribute,
                        deletion_curve,
                        e2llm_log_probs,
                        e2llm_target,
                        encoder_target,
                        sanity_check,
                        score_attribution,
)
from .eeg_tokens import nearest_text_tokens
from .metrics import (
                        E2LLMScores,
                        EncoderScores,
                        WhiteBox,
                        attribution_table,
                        class_target,
)
from .plots import (
                        emotion_band_contrast,
                        plot_band_topomaps,
                        plot_cap,
                        plot_emotion_topomaps,
                        plot_history,
                        plot_topomap,
                        plot_topomap_static,
)
from .views import (
                        electrode_coords_mm,
                        plot_attribution_static,
                        plot_attribution_topomap,
                        plot_band_heatmap,
                        plot_deletion_curve,
                        plot_markers_3d,
                        plot_region_bars,
                        view_attention_connectome,
                        view_markers_3d,
)
from .widgets import Explorer, evidence_html, reasoning_html

__all__ = ["emotion_band_contrast", "plot_band_topomaps", "plot_cap", "plot_emotion_topomaps", "plot_topomap",
           "plot_topomap_static", "mean_spatial_attention", "plot_attention_matrix", "plot_history",
           "nearest_text_tokens", "METHODS", "FLOORS", "Attribution", "Attributor", "attribute", "deletion_curve",
           "e2llm_target", "e2llm_log_probs", "encoder_target", "attribution_table", "EncoderScores", "E2LLMScores",
           "WhiteBox", "class_target", "sanity_check", "score_attribution", "electrode_coords_mm",
           "plot_attribution_static", "plot_attribution_topomap", "plot_band_heatmap", "plot_deletion_curve",
           "plot_markers_3d", "plot_region_bars", "view_attention_connectome", "view_markers_3d", "Explorer",
           "reasoning_html", "evidence_html", "attention_rollout", "encoder_attention", "llm_eeg_attention",
           "plot_llm_eeg_attention", "plot_llm_attention_topomap"]
