"""Configuration dataclasses and named presets.

Configs nest like Hugging Face composite configs; notebooks override fields with
``dataclasses.replace``; ``dataclasses.asdict(cfg)`` goes into every checkpoint.
"""
from __future__ import annotations

from dataclasses import MISSING, dataclass, fields, is_dataclass, replace

__all__ = ["DEFAULT_BANDS", "DataConfig", "SyntheticConfig", "EncoderConfig", "PretrainConfig", "ENCODER_PRESETS",
           "ProjectorConfig", "LLMConfig", "TrainConfig", "E2LLMConfig", "PRESETS", "fast_config", "band_names",
           "config_from_dict"]

#: Canonical EEG bands (name, low Hz, high Hz), SEED's convention.
DEFAULT_BANDS: tuple[tuple[str, float, float], ...] = (
    ("delta", 1.0, 4.0),
    ("theta", 4.0, 8.0),
    ("alpha", 8.0, 14.0),
    ("beta", 14.0, 31.0),
    ("gamma", 31.0, 50.0),
)


def band_names(bands=DEFAULT_BANDS) -> tuple[str, ...]:
    """Names of a band table."""
    return tuple(b[0] for b in bands)


@dataclass(frozen=True)
class DataConfig:
    """How recordings become DE feature samples.

    Parameters
    ----------
    sfreq : float
        Target sampling rate after resampling (Hz). SEED-VII's preprocessed data are at 200 Hz.
    l_freq, h_freq : float
        Band-pass edges (Hz); ``h_freq`` must lie above the top band edge and below Nyquist.
    notch_freq : float or None
        Line frequency to notch (50 Hz in China/Europe, 60 Hz in the Americas); None skips it.
    reference : str
        ``"average"`` or a channel name to re-reference to.
    bad_channel_policy : str
        What preprocessing does about noisy electrodes: ``"interpolate"`` (detect them and interpolate them) or
        ``"keep"``. (Named ``bad_channels`` before 0.2; configs saved with that name still load.)
    bands : tuple of (name, low, high)
        Frequency bands for features.
    window_s, stride_s : float
        DE window length and hop in seconds (SEED-VII's official features: 4 s, non-overlapping).
    de_method : str
        ``"gaussian"`` (band-pass then 0.5 log(2 pi e var)), ``"fft"`` (SEED's formula over the whole window) or
        ``"fft_seed"`` (SEED's official extractor exactly, first-256-samples quirk included); see
        :func:`e2llm_lab.preprocess.differential_entropy`.
    lds : bool
        Smooth each feature sequence over windows with a linear dynamical system (Kalman/RTS).
    lds_q, lds_r : float
        Process and observation noise variances of that smoother (in DE units squared).
    normalize : str or None
        ``"subject"``: z-score every channel x band feature with the subject's own statistics.
    n_steps : int
        Consecutive windows per sample, the encoder's T.
    step_stride : int
        Hop between consecutive samples of a trial, in windows: sample k of a trial starts at window
        ``k * step_stride`` (:meth:`FeatureSet.with_steps`' ``stride``). 2 with ``n_steps=4``: consecutive samples
        share half their windows. (Older saved configs hold 1 here, a value the pipeline never read: it always
        used 2.)
    """

    sfreq: float = 200.0
    l_freq: float = 0.5
    h_freq: float = 70.0
    notch_freq: float | None = 50.0
    reference: str = "average"
    bad_channel_policy: str = "interpolate"
    bands: tuple = DEFAULT_BANDS
    window_s: float = 4.0
    stride_s: float = 4.0
    de_method: str = "gaussian"
    lds: bool = True
    lds_q: float = 0.01
    lds_r: float = 0.04
    normalize: str | None = "subject"
    n_steps: int = 4
    step_stride: int = 2


@dataclass(frozen=True)
class SyntheticConfig:
    """A SEED-VII-like synthetic cohort (see :mod:`e2llm_lab.data.synthetic`).

    Parameters
    ----------
    n_subjects : int
    n_trials_per_emotion : int
        Clips per emotion per subject; each clip is one trial.
    trial_s : float
        Clip length in seconds.
    sfreq : float
        Sampling rate of the simulated recording (Hz).
    effect_size : float
        Multiplies every planted log-power change (0 removes the emotion effects).
    subject_variability : float
        Multiplies all between-subject variability (effect gains, idiosyncratic signatures, offsets).
    trial_noise : float
        SD of random per-trial channel x band log-power changes unrelated to emotion.
    bad_channel_prob : float
        Probability that a trial has one noisy electrode.
    blink_rate_hz : float
        Mean eye-blink rate.
    line_noise_uv : float
        Typical 50 Hz line-noise amplitude in microvolts.
    seed : int
    """

    n_subjects: int = 6
    n_trials_per_emotion: int = 2
    trial_s: float = 60.0
    sfreq: float = 200.0
    effect_size: float = 1.0
    subject_variability: float = 1.0
    trial_noise: float = 0.25
    bad_channel_prob: float = 0.15
    blink_rate_hz: float = 0.25
    line_noise_uv: float = 2.0
    seed: int = 0


# Fields renamed since configs were first saved: (class, old name) -> new name.
_RENAMED = {("DataConfig", "bad_channels"): "bad_channel_policy"}


def config_from_dict(cls, d: dict):
    """Rebuild a (possibly nested) config dataclass from ``asdict`` output, turning JSON lists back to tuples."""
    d = {_RENAMED.get((cls.__name__, k), k): v for k, v in d.items()}
    kwargs = {}
    for f in fields(cls):
        if f.name not in d:
            continue
        v = d[f.name]
        if f.default is not MISSING:
            default = f.default
        else:
            default = f.default_factory() if f.default_factory is not MISSING else None
        if is_dataclass(default) and isinstance(v, dict):
            v = config_from_dict(type(default), v)
        elif isinstance(v, list):
            v = tuple(tuple(x) if isinstance(x, list) else x for x in v)
        kwargs[f.name] = v
    unknown = set(d) - {f.name for f in fields(cls)}
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields {sorted(unknown)}; allowed: {[f.name for f in fields(cls)]}")
    return cls(**kwargs)


@dataclass(frozen=True)
class EncoderConfig:
    """Architecture of :class:`~e2llm_lab.models.encoder.EEGEncoder`: what a user chooses.

    The sizes the data dictate (input layout, head size) default to None, "from the data":
    :meth:`EEGEncoder.from_features <e2llm_lab.models.encoder.EEGEncoder.from_features>` reads them from the FeatureSet,
    as braindecode's models take ``n_chans`` and ``n_outputs`` from the data. A number given here must agree with
    the data (else ``ValueError``); the encoder's own ``cfg`` and its checkpoint hold the resolved numbers.

    Parameters
    ----------
    n_chans, n_bands, n_steps : int or None
        Input layout ``(n_steps, n_chans, n_bands)``; ``n_steps`` is the largest T the window embedding covers.
        None: the data's channels, bands and windows per sample.
    d_model, n_heads, n_layers : int
        Token width, attention heads, interlinked spatial-temporal blocks.
    mlp_ratio : int
        Feed-forward width as a multiple of ``d_model``.
    dropout : float
    n_classes : int or None
        Outputs of the classification head (braindecode's ``n_outputs``); None: the size of the data's label space.
    """

    n_chans: int | None = None
    n_bands: int | None = None
    n_steps: int | None = None
    d_model: int = 32
    n_heads: int = 4
    n_layers: int = 2
    mlp_ratio: int = 2
    dropout: float = 0.1
    n_classes: int | None = None


@dataclass(frozen=True)
class PretrainConfig:
    """Stage 1: emotion-discriminative encoder pretraining.

    Parameters
    ----------
    selfsup_epochs : int
        Epochs of masked DE-token modelling alone (labels unused) before the supervised phase.
    epochs : int
        Maximum epochs of the supervised phase (masked + contrastive + cross-entropy).
    batch_size, lr, weight_decay : training settings (AdamW).
    mask_ratio : float
        Fraction of (window, electrode) tokens masked for reconstruction in the masked-only phase.
    sup_mask_ratio : float
        Fraction masked in the supervised phase, where the same masked pass feeds all three losses.
    w_mask, w_supcon, w_ce : float
        Loss weights of masked modelling, supervised contrastive and cross-entropy.
    temperature : float
        Supervised contrastive temperature.
    channel_dropout : float
        Probability of zeroing a whole electrode during training (augmentation against electrode idiosyncrasy).
    patience : int
        Early-stopping patience in epochs, on the validation loss of held-out *training* subjects.
    n_val_subjects : int
        Training subjects set aside for early stopping (0 disables early stopping).
    seed : int
    device : str
        "cpu", "cuda" or "auto".
    """

    selfsup_epochs: int = 3
    epochs: int = 40
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.1
    mask_ratio: float = 0.5
    sup_mask_ratio: float = 0.15
    w_mask: float = 0.5
    w_supcon: float = 0.3
    w_ce: float = 1.0
    temperature: float = 0.2
    channel_dropout: float = 0.2
    patience: int = 8
    n_val_subjects: int = 1
    seed: int = 0
    device: str = "auto"


@dataclass(frozen=True)
class ProjectorConfig:
    """Projector from encoder tokens to the LLM (:class:`~e2llm_lab.models.projector.EEGProjector`).

    Parameters
    ----------
    kind : {"linear", "mlp2x_gelu"}
        The per-token projector.
    profile_readout : bool
        Add a linear read-out of the segment's whole region x band profile to its global token.
    max_segments : int
        Learned embeddings for the first, second, ... EEG segment of a prompt (0: none).
    head_reading : bool
        Add the encoder head's class posterior to the global token, through a linear map initialised with the
        LM's own embeddings of the label words: the stage-1 reading reaches the LM as a soft label word.
    """

    kind: str = "mlp2x_gelu"
    profile_readout: bool = True
    head_reading: bool = False
    # 3: the most clips a task shows (rank). With them, the quickstart model read each clip of a compare prompt
    # right 0.71 of the time (0.61 without) and of a rank prompt 0.48 (0.35), same seed and data.
    max_segments: int = 3


@dataclass(frozen=True)
class LLMConfig:
    """Which causal LM and how it is adapted.

    Parameters
    ----------
    name_or_path : str or None
        Hub id (``"Qwen/Qwen3-0.6B"``) or local folder; None means the tiny offline model in data_samples/.
    dtype : str
        "auto" (bf16 on CUDA with compute capability >= 8 and on CPUs with bf16 matrix hardware, AMX or AVX512-BF16;
        else fp32: :func:`~e2llm_lab.models.llm.choose_dtype`), "float32" or "bfloat16". Trainable parts (LoRA,
        projector) keep fp32 master weights whatever the LM's dtype.
    lora_r, lora_alpha, lora_dropout : LoRA settings (peft, all linear layers).
    gradient_checkpointing : bool
    max_length : int
        Longest tokenised example; longer ones raise.
    """

    name_or_path: str | None = None
    dtype: str = "auto"
    lora_r: int = 16
    lora_alpha: int = 32
    # no dropout on the adapters: on a CPU the dropout mask of every adapted layer's input cost a fifth of a stage-3
    # step, tiny LM and SmolLM2 alike (python bench/llm_speed.py train --profile: aten::bernoulli_)
    lora_dropout: float = 0.0
    gradient_checkpointing: bool = False
    max_length: int = 512


@dataclass(frozen=True)
class TrainConfig:
    """One stage of the shared training loop (alignment or instruction tuning).

    Parameters
    ----------
    epochs, batch_size, grad_accum, lr, weight_decay, warmup_frac : optimisation settings.
    unfreeze_encoder : bool
        Instruction tuning trains LoRA + projector; set True to train the encoder too.
    decision_weight : float
        Loss weight of an answer's *decision* tokens (those spelling a label of the data's label space, and the
        answer line after ``</think>``) relative to its other tokens; 1.0 is the plain mean over answer tokens.
        A reasoning holds about 100 tokens of evidence and numbers around one or two label names, so with 1.0 the
        choice the answer hangs on carries about 1% of the loss.
    consistent_evidence : bool
        Instruction tuning only: draw the examples that decide a label only from training rows whose measured
        closest signature is their own label (:func:`~e2llm_lab.text.instructions.consistent_rows`), so no
        reasoning the LM learns from names one signature closest and then decides another. On real EEG, where only
        about half the training rows qualify, it is what makes the answer follow the reasoning: on GAMEEMO's
        held-out subjects the tiny LM's generated label went from 0.352 to 0.409 (means of 3 seeds; its head 0.420),
        and SmolLM2-135M's reached 0.426 against a head of 0.403 (``bench/real_data.py --consistent-evidence``). Off
        in the presets: the shipped references were built without it.
    grounded_share : float
        Instruction tuning only: the share of the examples that decide a label taught in grounded mode (the
        toolkit's measured evidence in the prompt, the answer deciding after it), the rest in free mode (the LM
        writes its evidence), so one model answers in both.
    edit_share : float
        Instruction tuning only: the share of basic-emotion examples whose evidence is another sample's, the EEG
        kept, answered as that evidence says (:func:`~e2llm_lab.text.instructions.evidence_edit`). Without them the
        EEG and its evidence always agree in training, and an LM may decide from the EEG tokens and ignore the
        evidence it states: the tiny reference's answers moved with an edited evidence 0.00 of the time.
    group_by_length : bool
        Batch examples of similar length together (:func:`~e2llm_lab.training.train.length_batches`), so a batch pads
        little; off: plain shuffling, where a batch pads to its longest example whatever the others.
    checkpoint_every : int
        Save the training state every N optimizer steps (0: only at the end).
    mixed_precision : {"no", "bf16"}
        "bf16": forward and backward under bf16 autocast (accelerate's), weights and optimizer in fp32; on a CPU
        with AVX512-BF16 or AMX, ``python bench/cpu_precision.py`` measures what it buys.
    seed : int
    """

    epochs: int = 1
    batch_size: int = 16
    grad_accum: int = 1
    lr: float = 2e-3
    weight_decay: float = 0.0
    warmup_frac: float = 0.05
    unfreeze_encoder: bool = False
    decision_weight: float = 1.0
    consistent_evidence: bool = False
    grounded_share: float = 0.5
    edit_share: float = 0.25
    group_by_length: bool = True
    checkpoint_every: int = 0
    mixed_precision: str = "no"
    seed: int = 0


@dataclass(frozen=True)
class E2LLMConfig:
    """Everything of an E2LLM model and its training, nested like a Hugging Face composite config."""

    data: DataConfig = DataConfig()
    encoder: EncoderConfig = EncoderConfig()
    # Stage 1 in the pipeline: 20 supervised epochs with heavy electrode dropout and no early stopping. Dropping
    # 70% of electrodes per sample (not 20%) makes the encoder use every electrode that carries the effect rather
    # than a few idiosyncratic ones: on the quickstart split (3 seeds) held-out head accuracy 0.50 -> 0.63 and
    # Integrated Gradients' class-averaged AUROC against the planted effects 0.76 -> 0.86 (bench/encoder_reliance.py).
    # Early stopping on one training subject stopped too soon for it (0.79 with it). The stage-1 notebook shows
    # PretrainConfig's plain defaults.
    pretrain: PretrainConfig = PretrainConfig(epochs=20, channel_dropout=0.7, n_val_subjects=0)
    projector: ProjectorConfig = ProjectorConfig()
    # The tiny LM runs in fp32 on every machine: it is a test fixture whose figures are pinned, and a bf16 matmul
    # rounds differently on AMX, AVX512-BF16 and GPUs. Real LMs take "auto" (bf16 where the hardware multiplies it).
    llm: LLMConfig = LLMConfig(dtype="float32")
    # The tiny model needs high learning rates to learn to read EEG tokens within CPU minutes (2e-2 diverged);
    # the GPU presets below use rates suited to a real 0.6B model. Four alignment epochs (projector only, cheap)
    # gave the tiny model's generated labels +5 points over one on held-out subjects (see the LLM bench).
    align: TrainConfig = TrainConfig(epochs=4, lr=1e-2)
    instruct: TrainConfig = TrainConfig(epochs=4, lr=1e-2)
    #: Stage-2 captions and stage-3 instruction examples relative to the quickstart's mix
    #: (:data:`~e2llm_lab.training.pipeline.N_CAPTIONS`, :data:`~e2llm_lab.training.pipeline.N_INSTRUCT`).
    scale: float = 1.0


#: Named presets. "cpu-tiny": the shipped tiny LLM, minutes on a laptop CPU; "colab-t4": Qwen3-0.6B on a 15 GB
#: T4 (fp32 there, see LLMConfig.dtype); "cpu-smollm2": the offline SmolLM2-135M-Instruct on a CPU; "a100":
#: Qwen3-0.6B in bf16 with a larger encoder.
PRESETS: dict[str, E2LLMConfig] = {
    "cpu-tiny": E2LLMConfig(),
    "colab-t4": E2LLMConfig(encoder=EncoderConfig(d_model=64, n_heads=4, n_layers=2),
                            llm=LLMConfig(name_or_path="Qwen/Qwen3-0.6B", lora_r=16, gradient_checkpointing=True),
                            align=TrainConfig(epochs=1, batch_size=8, grad_accum=2, lr=1e-3),
                            instruct=TrainConfig(epochs=2, batch_size=4, grad_accum=4, lr=2e-4)),
    # A real pretrained small LM on a CPU (SmolLM2-135M-Instruct, the named offline model): the SmolLM2 reference's
    # recipe (bench/reference_recipe.py: two alignment epochs at lr 2e-3 and two instruction epochs at lr 1e-3, the
    # rates that let it read its EEG tokens; decisions weighted 4x; answers taught only where the evidence agrees),
    # the frozen LM in bf16 where the CPU multiplies bf16 ("auto") with fp32 adapters under bf16 autocast, and a
    # quarter of the quickstart's examples, so that its quickstart fits a CPU coffee break (bench/llm_speed.py).
    "cpu-smollm2": E2LLMConfig(llm=LLMConfig(name_or_path="smollm2-135m", dtype="auto", lora_r=16, lora_alpha=32),
                               align=TrainConfig(epochs=2, batch_size=8, lr=2e-3, mixed_precision="bf16"),
                               instruct=TrainConfig(epochs=2, batch_size=8, lr=1e-3, decision_weight=4.0,
                                                    mixed_precision="bf16", consistent_evidence=True),
                               scale=0.25),
    "a100": E2LLMConfig(encoder=EncoderConfig(d_model=128, n_heads=8, n_layers=4, mlp_ratio=4),
                        llm=LLMConfig(name_or_path="Qwen/Qwen3-0.6B", lora_r=32, lora_alpha=64),
                        align=TrainConfig(epochs=1, batch_size=32, lr=1e-3),
                        instruct=TrainConfig(epochs=3, batch_size=16, lr=2e-4)),
}
#: The encoder of each preset (derived: the sizes live in PRESETS only; the data give the input layout and head).
#: "cpu-tiny" trains in about a minute.
ENCODER_PRESETS: dict[str, EncoderConfig] = {name: preset.encoder for name, preset in PRESETS.items()}


def fast_config(cfg: E2LLMConfig) -> E2LLMConfig:
    """The same pipeline shrunk to a smoke test (tests, ``--fast``, notebooks' fast mode); results not meaningful."""
    return replace(cfg, pretrain=replace(cfg.pretrain, epochs=2, selfsup_epochs=1),
                   instruct=replace(cfg.instruct, epochs=1), scale=0.1 * cfg.scale)
