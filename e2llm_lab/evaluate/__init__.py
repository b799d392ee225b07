"""Evaluation: stage-1 protocols and baselines, the LLM's generated answers with controls and faithfulness,
the link-by-link diagnostic, and the whole protocol in one report.

- :mod:`.protocols`: cross-subject / subject-dependent folds, metrics, baselines (stage 1);
- :mod:`.generation`: answers from ``generate()``, EEG controls, faithfulness;
- :mod:`.scoring`: teacher-forced option scores and the constrained answer line;
- :mod:`.diagnostics`: where emotion information is lost between the EEG and the generated label;
- :mod:`.significance`: do the generated labels carry information about the truth (a permutation test)?
- :mod:`.knowledge`: what a plain LM knows without EEG (the tiny LM's multiple-choice probe);
- :mod:`.suite`: :func:`evaluate_all` -> :class:`EvaluationReport`.
"""
from __future__ import annotations

from .._lazy import lazy_exports

#: Public name -> the module of this package that defines it (imported on first use).
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(("diagnose_chain", "ordering_link", "scene_link"), ".diagnostics"),
    **dict.fromkeys(("CHANCE", "CONTROLS", "MULTI_TASKS", "evaluate_generation", "faithfulness",
                     "generation_summary"), ".generation"),
    **dict.fromkeys(("METRICS", "classification_metrics"), "e2llm_lab._metrics"),
    **dict.fromkeys(("PROTOCOLS", "chance", "confusion_table", "cross_validate", "encoder_models",
                     "logistic_regression", "make_folds", "mlp", "summarize"), ".protocols"),
    **dict.fromkeys(("choose_answer_lines", "score_options"), ".scoring"),
    **dict.fromkeys(("InformationTest", "label_information"), ".significance"),
    **dict.fromkeys(("EvaluationReport", "evaluate_all", "information_table"), ".suite"),
    "ask_multiple_choice": ".knowledge",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
