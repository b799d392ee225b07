"""The training pipeline: the recipe of a run, then stages 1-3 chained in one place.

``resolve_config`` gives a run's recipe (a preset with its LM, seed, device and fast mode); ``train_e2llm`` takes a
:class:`~e2llm_lab.data.splits.Split` (:func:`~e2llm_lab.data.splits.split` holds whole subjects out of every stage)
and pretrains the encoder (stage 1), aligns the projector (stage 2) and instruction-tunes LoRA +
projector (stage 3) on the training rows only. The quickstart, the reference build, the benches and the notebooks
all train through here; evaluation and reports are theirs. Importing this module loads no numpy, pandas or torch
(the CLI checks its arguments with :func:`resolve_config` before anything heavy loads).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ..config import PRESETS, E2LLMConfig, fast_config

if TYPE_CHECKING:                            # the split's module loads numpy and pandas: a name for annotations only
    from ..data.splits import Split

__all__ = ["N_INSTRUCT", "N_CAPTIONS", "TrainedRun", "preset_name", "with_consistent_evidence", "resolve_config",
           "stage_examples", "train_e2llm"]

#: Instruction mix of stage 3 (examples per task) and captions of stage 2, at ``scale = 1``.
N_INSTRUCT = {"emotion": 600, "valence_arousal": 150, "compare": 100, "rank": 60, "describe": 100}
N_CAPTIONS = 800


def preset_name(preset: str | None = None, llm: str | None = None) -> str:
    """The preset a run uses: ``preset`` if given, else "cpu-tiny" for the tiny model, the CPU preset of a named
    offline model ("cpu-smollm2" for "smollm2-135m"), and "colab-t4" for any other LM.

    Raises
    ------
    ValueError
        For an unknown preset, naming the allowed ones.
    """
    named = {p.llm.name_or_path: n for n, p in PRESETS.items() if p.llm.name_or_path and n.startswith("cpu-")}
    name = preset or ("cpu-tiny" if llm is None else named.get(str(llm).lower(), "colab-t4"))
    if name not in PRESETS:
        raise ValueError(f"preset={name!r}; allowed: {tuple(PRESETS)}")
    return name


def with_consistent_evidence(preset: str | None = None, llm: str | None = None, *,
                             config: E2LLMConfig | None = None) -> E2LLMConfig:
    """``config`` (default: the preset a run with ``preset`` and ``llm`` uses) with
    ``TrainConfig.consistent_evidence`` on in stage 3: answers taught only from rows whose measured closest signature
    is their own label. The one place the CLI's ``--consistent-evidence`` and the benches turn it on.
    """
    base = config if config is not None else PRESETS[preset_name(preset, llm)]
    return replace(base, instruct=replace(base.instruct, consistent_evidence=True))


def resolve_config(preset: str | None = None, llm: str | None = None, seed: int = 0, device: str = "auto",
                   fast: bool = False, *, config: E2LLMConfig | None = None) -> E2LLMConfig:
    """The recipe of one run: a preset (or ``config``) with the LLM, the seed of every stage, the device and fast mode.

    Parameters
    ----------
    preset : str, optional
        A name of :data:`~e2llm_lab.config.PRESETS`; default "cpu-tiny" for the tiny model, "colab-t4" for any
        other LLM.
    llm : str, optional
        Hub id, folder or file of a causal LM; default the preset's (the tiny offline model for "cpu-tiny").
    seed : int
        Seeds stage 1 (initialisation, data order), stages 2-3 and the instruction draws.
    device : str
        Stored in the stage-1 config as given ("auto", "cpu", "cuda:0"); checked when the model is built.
    fast : bool
        Shrink every stage (:func:`~e2llm_lab.config.fast_config`): a smoke test, results not meaningful.
    config : E2LLMConfig, optional
        The base recipe in place of the preset's (the reference build's longer recipe).

    Raises
    ------
    ValueError
        For an unknown preset, naming the allowed ones. Needs no torch: the CLI checks its arguments with it.
    """
    if config is None:
        config = PRESETS[preset_name(preset, llm)]
    if llm is not None:
        config = replace(config, llm=replace(config.llm, name_or_path=llm))
    config = replace(config, pretrain=replace(config.pretrain, seed=seed, device=device),
                     align=replace(config.align, seed=seed), instruct=replace(config.instruct, seed=seed))
    return fast_config(config) if fast else config


def stage_examples(fs, train_idx, signatures, *, n_eeg_tokens: int, seed: int = 0, scale: float = 1.0,
                   consistent: bool = False, grounded_share: float = 0.0, edit_share: float = 0.0,
                   config: E2LLMConfig | None = None):
    """Stage-2 captions and the stage-3 instruction mix drawn from the training rows.

    Only the training task families and templates: the ``scenario`` family and held-out templates never appear.
    ``consistent``: the instruction mix only from rows whose closest signature is their label
    (``TrainConfig.consistent_evidence``); ``grounded_share``: that share of it in grounded mode
    (``TrainConfig.grounded_share``); ``edit_share``: that share of its basic-emotion examples evidence edits
    (``TrainConfig.edit_share``). ``config``: take seed, scale and those three from a recipe instead, as
    :func:`train_e2llm` does (the notebooks that run the stages one by one pass theirs).
    """
    from ..text.instructions import make_examples

    if config is not None:
        seed, scale, ins = config.instruct.seed, config.scale, config.instruct
        consistent, grounded_share, edit_share = ins.consistent_evidence, ins.grounded_share, ins.edit_share
    captions = make_examples(fs, train_idx, tasks=("describe",), n_per_task=max(16, int(N_CAPTIONS * scale)),
                             n_eeg_tokens=n_eeg_tokens, seed=1 + 10 * seed, signatures=signatures)
    mix = {k: max(8, int(v * scale)) for k, v in N_INSTRUCT.items()}
    examples = make_examples(fs, train_idx, n_per_task=mix, n_eeg_tokens=n_eeg_tokens, seed=2 + 10 * seed,
                             signatures=signatures, consistent=consistent, grounded_share=grounded_share,
                             edit_share=edit_share)
    return captions, examples


@dataclass
class TrainedRun:
    """What :func:`train_e2llm` returns: the model, the split it never saw, the encoder head's held-out metrics,
    the loss history of each stage and the seconds each stage took."""

    model: object
    split: Split
    encoder_metrics: dict
    histories: dict = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    #: The process's peak resident memory (GB) at the end of each stage (None where the OS does not say).
    peak_rss_gb: dict[str, float | None] = field(default_factory=dict)


def _peak_rss_gb() -> float | None:
    try:
        import resource
    except ImportError:                                        # Windows
        return None
    import sys

    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss   # bytes on macOS, kilobytes on Linux
    return kb / 2**30 if sys.platform == "darwin" else kb / 2**20


def _loss_trend(hist) -> str:
    return f"loss {hist.loss.iloc[:5].mean():.3f} -> {hist.loss.iloc[-5:].mean():.3f} (means of 5 steps"


def train_e2llm(sp: Split, cfg: E2LLMConfig, *, scale: float | None = None, device: str = "auto",
                progress: bool = True, say=print) -> TrainedRun:
    """Stages 1-3 of E^2-LLM on the training rows of ``sp``; the held-out subjects are never seen.

    Parameters
    ----------
    sp : Split
        From :func:`split`.
    cfg : E2LLMConfig
        The recipe (:func:`resolve_config`); ``cfg.instruct.seed`` also seeds the instruction draws.
    scale : float, optional
        Multiplies the number of stage-2 captions and stage-3 examples (:data:`N_CAPTIONS`, :data:`N_INSTRUCT`);
        default the recipe's own (``cfg.scale``).
    device : str
        Where the LLM runs ("auto": CUDA when available).
    progress : bool
        tqdm bars for each stage.
    say : callable
        Where the one-line summary of each stage goes (``print``; a no-op to keep quiet).

    Returns
    -------
    TrainedRun
        The trained E2LLM (with its signatures and the record of its held-out subjects and windowing).
    """
    from .._metrics import classification_metrics
    from ..data.splits import HeldOut
    from ..models.llm import add_lora
    from ..models.model import E2LLM
    from ..text.rationales import EmotionSignatures
    from .pretrain import pretrain_encoder
    from .train import train_stage

    fs, tr, te = sp.samples, sp.train_idx, sp.test_idx
    t0 = time.perf_counter()
    encoder, hist1 = pretrain_encoder(fs, cfg.pretrain, encoder_cfg=cfg.encoder, train_idx=tr, progress=progress)
    head = classification_metrics(fs.labels()[te], encoder.predict_logits(fs.X[te]).argmax(1),
                                  n_classes=len(fs.label_space))
    t1, peak = time.perf_counter(), {"stage1": _peak_rss_gb()}
    say(f"stage 1 (encoder): balanced accuracy of its own head on held-out subjects "
        f"{head['balanced_accuracy']:.3f} ({t1 - t0:.0f} s)")

    model = E2LLM.build(encoder, cfg, device=device)
    model.signatures = EmotionSignatures.fit(fs, tr)          # learned from the training subjects only
    model.held_out = HeldOut.from_split(fs, tr, te, stride=sp.stride)
    recipe = cfg if scale is None else replace(cfg, scale=scale)
    captions, examples = stage_examples(fs, tr, model.signatures, n_eeg_tokens=model.n_eeg_tokens, config=recipe)
    hist2 = train_stage(model, captions, fs, cfg.align, stage="align", progress=progress)
    t2, peak["align"] = time.perf_counter(), _peak_rss_gb()
    say(f"stage 2 (alignment, projector only): {_loss_trend(hist2)}; {t2 - t1:.0f} s)")

    model.llm = add_lora(model.llm, cfg.llm)
    hist3 = train_stage(model, examples, fs, cfg.instruct, stage="instruct", progress=progress)
    t3, peak["instruct"] = time.perf_counter(), _peak_rss_gb()
    say(f"stage 3 (instruction tuning, LoRA + projector): {_loss_trend(hist3)}; {t3 - t2:.0f} s)")
    return TrainedRun(model, sp, head, {"pretrain": hist1, "align": hist2, "instruct": hist3},
                      {"stage1": t1 - t0, "align": t2 - t1, "instruct": t3 - t2, "total": t3 - t0}, peak)
