"""Evaluation: stage-1 protocols and baselines, the LLM's generated answers with controls and faithfulness,
the link-by-link diagnostic, and the whole protocol in one report.

- :mod:`.protocols`: cross-subject / subject-dependent folds, metrics, baselines (stage 1);
- :mod:`.generation`: answers from ``generate()``, EEG controls, faithfulness;
- :mod:`.scoring`: teacher-forced option scores and the constrained answer line;
- :mod:`.diagnostics`: where emotion information is lost between the EEG and the generated label;
- :mod:`.significance`: do the generated labels carry information about the truth (a permutation test)?
- :mod:`.suite`: :func:`evaluate_all` -> :class:`EvaluationReport`.
"""
from .diagnostics import diagnose_chain, ordering_link, scene_link
from .generation import CHANCE, CONTROLS, MULTI_TASKS, evaluate_generation, faithfulness, generation_summary
from .protocols import (
                        METRICS,
                        PROTOCOLS,
                        chance,
                        classification_metrics,
                        confusion_table,
                        cross_validate,
                        encoder_models,
                        logistic_regression,
                        make_folds,
                        mlp,
                        summarize,
)
from .scoring import choose_answer_lines, score_options
from .significance import InformationTest, label_information
from .suite import EvaluationReport, evaluate_all, information_table

__all__ = ["PROTOCOLS", "METRICS", "classification_metrics", "confusion_table", "make_folds", "cross_validate",
           "summarize", "logistic_regression", "mlp", "chance", "encoder_models", "CHANCE", "MULTI_TASKS", "CONTROLS",
           "faithfulness", "evaluate_generation", "generation_summary", "diagnose_chain", "scene_link", "ordering_link",
           "score_options", "choose_answer_lines", "InformationTest", "label_information", "information_table",
           "EvaluationReport", "evaluate_all"]
