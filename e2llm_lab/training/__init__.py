"""Training: stage 1 (encoder pretraining), stages 2-3 (alignment, instruction tuning), and the pipeline that
chains them on a held-out split.

- :mod:`.pretrain`: stage 1, masked DE-token modelling + supervised contrastive + cross-entropy;
- :mod:`.train`: stages 2-3 in one loop (accelerate);
- :mod:`.pipeline`: :func:`resolve_config` and :func:`train_e2llm` (stages 1-3, the only place);
- :mod:`.checkpoint`: training state (safetensors + JSON) for resuming.
"""
from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS: dict[str, str] = {"pretrain_encoder": ".pretrain", "train_stage": ".train", "resolve_config": ".pipeline",
            "train_e2llm": ".pipeline", "TrainedRun": ".pipeline"}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
