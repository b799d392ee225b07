"""E2LLM: EEG encoder -> projector -> EEG tokens spliced into a Qwen causal LM's input embeddings.

Each EEG segment becomes ``n_regions + 1`` LLM tokens (one per brain region, plus the global embedding),
written where the prompt holds ``<|eeg|>`` placeholders. Each region token carries the encoder's region
embedding *and* the region's measured band profile (mean z-scored DE over its electrodes and windows): the
rationales the LLM writes are about those measured values, so they must reach it. A prompt may hold several segments (comparison and
ranking tasks); they fill the placeholders in reading order.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn

from ._atomic import atomic_path, write_text_atomic
from .config import E2LLMConfig, config_from_dict
from .encoder import EEGEncoder
from .errors import damaged, read_json, read_safetensors, unreadable
from .instructions import EEG_END, EEG_START, EEG_TOKEN, EmotionSignatures
from .llm import chat_prompt, load_llm, quiet_peft, save_tokenizer
from .projector import EEGProjector

__all__ = ["splice_eeg", "E2LLM"]


def splice_eeg(inputs_embeds: torch.Tensor, input_ids: torch.Tensor, eeg_embeds: torch.Tensor,
               eeg_token_id: int) -> torch.Tensor:
    """Write EEG token embeddings over the ``<|eeg|>`` placeholder positions.

    Parameters
    ----------
    inputs_embeds : torch.Tensor, shape (B, L, H)
    input_ids : torch.Tensor, shape (B, L)
    eeg_embeds : torch.Tensor, shape (n_placeholders, H)
        In reading order: example by example, segment by segment, token by token.
    eeg_token_id : int

    Returns
    -------
    torch.Tensor, shape (B, L, H)
        A new tensor; gradients flow into ``eeg_embeds``.
    """
    where = input_ids == eeg_token_id                                   # (B, L)
    if int(where.sum()) != eeg_embeds.shape[0]:
        raise ValueError(f"the prompts hold {int(where.sum())} <|eeg|> placeholders but {eeg_embeds.shape[0]} EEG "
                         f"token embeddings were given; each segment needs exactly n_regions + 1 placeholders")
    return inputs_embeds.masked_scatter(where[..., None], eeg_embeds.to(inputs_embeds.dtype))


def _strip_local_base_path(path: Path) -> None:
    """peft records the base model's folder as this machine's absolute path; keep only its name (loading never
    reads it: the base LLM comes from ``cfg.llm.name_or_path``). Hub ids stay as they are."""
    conf = json.loads(path.read_text())
    base = conf.get("base_model_name_or_path")
    if base and Path(base).is_absolute():
        conf["base_model_name_or_path"] = Path(base).name
        write_text_atomic(path, json.dumps(conf, indent=2))


def _strip_eeg(text: str) -> str:
    """Remove EEG marker tokens from generated text (they stand for EEG only where the caller puts them)."""
    for t in (EEG_START, EEG_TOKEN, EEG_END):
        text = text.replace(t, "")
    return text


class E2LLM(nn.Module):
    """The E^2-LLM model: encoder, projector, causal LM and tokenizer.

    Parameters
    ----------
    encoder : EEGEncoder
    projector : torch.nn.Module
        (..., d_model) -> (..., hidden_size)
    llm : transformers.PreTrainedModel (or a peft model around one)
    tokenizer : the LLM's tokenizer, with the EEG tokens added
    cfg : E2LLMConfig
    """

    def __init__(self, encoder: EEGEncoder, projector: nn.Module, llm, tokenizer, cfg: E2LLMConfig = E2LLMConfig()):
        super().__init__()
        self.encoder, self.projector, self.llm, self.tokenizer, self.cfg = encoder, projector, llm, tokenizer, cfg
        self.eeg_token_id = tokenizer.convert_tokens_to_ids(EEG_TOKEN)
        self.eeg_start_id = tokenizer.convert_tokens_to_ids(EEG_START)
        #: Emotion signatures of the training subjects (set by the training pipeline; saved with the model): the
        #: reference every rationale's evidence is chosen and checked against.
        self.signatures: EmotionSignatures | None = None
        #: The data the model was trained on (set by :meth:`record_training_data`; saved with the model): which
        #: subjects it saw and never saw, and how window-level features became samples.
        self.training_data: dict | None = None

    @classmethod
    def build(cls, encoder: EEGEncoder, cfg: E2LLMConfig = E2LLMConfig(), *, device: str = "auto") -> E2LLM:
        """Load ``cfg.llm`` and join it to ``encoder`` with a fresh projector."""
        llm, tok = load_llm(cfg.llm.name_or_path, device=device, dtype=cfg.llm.dtype)
        dev = llm.device
        in_dim = encoder.cfg.d_model + encoder.cfg.n_bands
        readout = (encoder.n_regions, encoder.cfg.n_bands) if cfg.projector.profile_readout else (0, 0)
        proj = EEGProjector(cfg.projector.kind, in_dim, llm.config.hidden_size, n_regions=readout[0],
                            n_bands=readout[1], max_segments=cfg.projector.max_segments).to(dev)
        return cls(encoder.to(dev), proj, llm, tok, cfg)

    @property
    def label_space(self):
        """The labels the model was trained on (its encoder's), saved with the checkpoint."""
        return self.encoder.label_space

    def check_features(self, fs, *, what: str = "the features") -> None:
        """Refuse a FeatureSet of another label space, band set or cap than the model's, naming both."""
        self.label_space.check_same(fs.label_space, what=what)
        if tuple(fs.band_names) != tuple(self.encoder.bands):
            raise ValueError(f"{what} have bands {fs.band_names} but the model was trained on {self.encoder.bands}")
        if tuple(fs.ch_names) != tuple(self.encoder.ch_names):
            diff = sorted(set(fs.ch_names) ^ set(self.encoder.ch_names))[:8]
            raise ValueError(f"{what} have {len(fs.ch_names)} channels but the model was trained on "
                             f"{len(self.encoder.ch_names)} (in the same order); they differ in {diff or 'order'}")

    def record_training_data(self, fs, train_idx, test_idx, *, stride: int) -> None:
        """Remember the subjects of training and of the held-out test, and the sample windowing (``stride``)."""
        subjects = fs.meta.subject.to_numpy()
        plain = lambda v: v.item() if hasattr(v, "item") else v                       # noqa: E731 - JSON-ready
        order = lambda s: (isinstance(s, str), s if not isinstance(s, str) else 0, str(s))  # noqa: E731 - 2 before 10
        self.training_data = {"train_subjects": sorted({plain(s) for s in subjects[np.asarray(train_idx)]}, key=order),
                              "test_subjects": sorted({plain(s) for s in subjects[np.asarray(test_idx)]}, key=order),
                              "n_steps": int(fs.n_steps), "stride": int(stride), "feature": fs.feature}

    @property
    def test_subjects(self) -> tuple | None:
        """Subjects no training stage saw (None for a model that does not record them)."""
        return None if self.training_data is None else tuple(self.training_data["test_subjects"])

    def samples(self, fs):
        """Window-level features (``n_steps = 1``) -> the model's samples, windowed as in training; checked."""
        if fs.n_steps == 1 and self.encoder.cfg.n_steps > 1:
            stride = (self.training_data or {}).get("stride", 2)
            fs = fs.with_steps(self.encoder.cfg.n_steps, stride=stride)
        self.check_features(fs)
        return fs

    def held_out_rows(self, fs, subjects=None) -> tuple[np.ndarray, np.ndarray]:
        """Rows of training subjects and of held-out ``subjects`` (default :attr:`test_subjects`).

        Raises
        ------
        LeakageError
            When a requested subject was seen in training: the model's figures on it would be inflated.
        """
        from .data.featureset import LeakageError, check_no_leakage

        seen = set(map(str, (self.training_data or {}).get("train_subjects", ())))
        subjects = tuple(self.test_subjects or ()) if subjects is None else tuple(subjects)
        if not subjects:
            raise ValueError("name the held-out subjects: this model does not record which subjects it never saw")
        leaked = sorted(s for s in subjects if str(s) in seen)
        if leaked:
            raise LeakageError(f"subjects {leaked} were seen in training; evaluate or explain this model only on "
                               f"subjects it never saw: {self.test_subjects}")
        known = {str(s): s for s in fs.meta.subject.unique()}
        missing = [s for s in subjects if str(s) not in known]
        if missing:
            raise ValueError(f"held-out subjects {missing} are not in the features (subjects: {sorted(known, key=str)})")
        test = fs.meta.subject.astype(str).isin({str(s) for s in subjects}).to_numpy()
        tr, te = np.flatnonzero(~test), np.flatnonzero(test)
        check_no_leakage(fs.meta, tr, te, level="subject")
        return tr, te

    @property
    def n_eeg_tokens(self) -> int:
        """LLM tokens per EEG segment: one per region, plus the global token."""
        return self.encoder.n_regions + 1

    @property
    def device(self) -> torch.device:
        return next(self.projector.parameters()).device

    def eeg_embeds(self, eeg: torch.Tensor, segment: torch.Tensor | None = None) -> torch.Tensor:
        """EEG segments ``(S, T, C, F)`` -> LLM input embeddings ``(S, n_regions + 1, hidden_size)``.

        ``segment`` (S,): each segment's position in its prompt (0 for the first clip); default all 0.
        """
        eeg = eeg.to(self.device, torch.float32)
        out = self.encoder(eeg)
        tokens = torch.cat([out.region_tokens, out.global_embedding[:, None]], dim=1)   # (S, R+1, d)
        # differs from E^2-LLM: region tokens also carry their measured band profile, so evidence is grounded
        profile = torch.einsum("rc,stcf->srf", self.encoder.pool, eeg) / eeg.shape[1]  # (S, T, C, F) -> (S, R, F)
        padded = torch.cat([profile, profile.new_zeros(len(eeg), 1, eeg.shape[-1])], dim=1)   # global: none
        if segment is None:
            segment = torch.zeros(len(eeg), dtype=torch.long, device=eeg.device)
        return self.projector(torch.cat([tokens, padded], dim=-1), profile, segment)   # (S, R+1, d+F) -> (S, R+1, H)

    def embed_inputs(self, input_ids: torch.Tensor, eeg: torch.Tensor) -> torch.Tensor:
        """Token embeddings of ``input_ids`` with the EEG segments spliced in."""
        emb = self.llm.get_input_embeddings()(input_ids)
        starts = input_ids == self.eeg_start_id                                          # (B, L)
        segment = (starts.cumsum(1) - 1)[starts]                     # each segment's position in its prompt: (S,)
        if len(segment) != len(eeg):
            raise ValueError(f"the prompts hold {len(segment)} {EEG_START} markers but {len(eeg)} EEG segments were "
                             f"given; build prompts with instructions.eeg_placeholder")
        if not len(eeg):                                                # text-only prompts: nothing to splice
            return splice_eeg(emb, input_ids, emb.new_zeros(0, emb.shape[-1]), self.eeg_token_id)
        eeg_e = self.eeg_embeds(eeg, segment).flatten(0, 1)                             # (S, R+1, H) -> (S*(R+1), H)
        return splice_eeg(emb, input_ids, eeg_e, self.eeg_token_id)

    def forward(self, input_ids, attention_mask, eeg, labels=None):
        """Causal-LM forward; ``labels`` hold -100 on prompt and padding tokens."""
        return self.llm(inputs_embeds=self.embed_inputs(input_ids, eeg), attention_mask=attention_mask, labels=labels)

    def _batch(self, texts: list[str], eeg: list[np.ndarray]):
        """Left-padded ``input_ids``, ``attention_mask`` and the stacked EEG segments of chat-formatted texts."""
        tok = self.tokenizer
        ids = [tok(t, add_special_tokens=False)["input_ids"] for t in texts]
        width, pad = max(map(len, ids)), tok.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(x)) + x for x in ids], device=self.device)
        mask = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in ids], device=self.device)
        return input_ids, mask, torch.as_tensor(np.concatenate(eeg), device=self.device)

    @torch.no_grad()
    def generate(self, prompts: list[str], eeg: list[np.ndarray], *, max_new_tokens: int = 256,
                 batch_size: int = 32, answer_options: list[list[str]] | None = None,
                 prefixes: list[str] | None = None) -> list[str]:
        """Greedy answers to user prompts, each with its EEG segments.

        Parameters
        ----------
        prompts : list of str
            User messages holding ``n_eeg_tokens`` placeholders per segment (see ``instructions.eeg_placeholder``).
        eeg : list of np.ndarray, each (n_segments, T, C, F)
        answer_options : list of list of str, optional
            Constrained decoding of the answer line: the reasoning is generated freely up to ``</think>``, then the
            answer line is the option (e.g. ``"\\nEmotion: fear"``) the model itself finds most likely
            (:meth:`score_options`). An empty list leaves that answer free.
        prefixes : list of str, optional
            Text the assistant's turn starts with (the answer continues it; it is part of the returned text).

        Returns
        -------
        list of str
            The assistant's text up to its end-of-turn token.
        """
        self.eval()
        tok = self.tokenizer
        prefixes = prefixes or [""] * len(prompts)
        think_end = tok.convert_tokens_to_ids("</think>")
        stop = [tok.eos_token_id] + ([think_end] if answer_options is not None and think_end != tok.unk_token_id
                                     and think_end is not None else [])
        texts = []
        for i in range(0, len(prompts), batch_size):
            chats = [chat_prompt(tok, p) + pre for p, pre in zip(prompts[i:i + batch_size], prefixes[i:i + batch_size])]
            input_ids, mask, segs = self._batch(chats, eeg[i:i + batch_size])
            # the EEG markers only ever stand for EEG the caller gives; an answer may never write one
            out = self.llm.generate(inputs_embeds=self.embed_inputs(input_ids, segs), attention_mask=mask,
                                    max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tok.pad_token_id,
                                    eos_token_id=stop, bad_words_ids=[[self.eeg_start_id], [self.eeg_token_id],
                                                                      [tok.convert_tokens_to_ids(EEG_END)]])
            for pre, row in zip(prefixes[i:i + batch_size], out):
                text = tok.decode(row, skip_special_tokens=False)
                texts.append(pre + text.split(tok.eos_token)[0].replace(tok.pad_token, "").strip())
        return texts if answer_options is None else self.choose_answer_lines(prompts, eeg, texts, answer_options,
                                                                             batch_size=batch_size)

    def choose_answer_lines(self, prompts: list[str], eeg: list[np.ndarray], texts: list[str],
                            answer_options: list[list[str]], *, batch_size: int = 32) -> list[str]:
        """Keep each generated reasoning (up to ``</think>``) and end it with its most likely answer line.

        Examples whose option list is empty keep their text unchanged.
        """
        texts = list(texts)
        todo = [j for j, o in enumerate(answer_options) if o]
        if todo:
            reasoned = [_strip_eeg(texts[j].split("</think>")[0]).rstrip() + " </think>" for j in todo]
            scores = self.score_options([prompts[j] for j in todo], [eeg[j] for j in todo], reasoned,
                                        [answer_options[j] for j in todo], batch_size=batch_size)
            for j, text, sc in zip(todo, reasoned, scores):
                texts[j] = text + answer_options[j][int(np.argmax(sc))]
        return texts

    @torch.no_grad()
    def score_options(self, prompts: list[str], eeg: list[np.ndarray], prefixes: list[str],
                      options: list[list[str]], *, batch_size: int = 32) -> list[np.ndarray]:
        """Log-likelihood of each option continuing the assistant's ``prefix``, given the prompt and the EEG.

        Returns
        -------
        list of np.ndarray, one per prompt, shape (n_options,)
            The sum of the option tokens' log-probabilities (teacher-forced; for scoring, never as an answer).
        """
        self.eval()
        tok = self.tokenizer
        flat = [(k, chat_prompt(tok, p) + pre, opt, e) for k, (p, pre, opts, e)
                in enumerate(zip(prompts, prefixes, options, eeg)) for opt in opts]
        out = [[] for _ in prompts]
        for i in range(0, len(flat), batch_size):
            chunk = flat[i:i + batch_size]
            heads = [tok(h, add_special_tokens=False)["input_ids"] for _, h, _, _ in chunk]
            tails = [tok(o, add_special_tokens=False)["input_ids"] for _, _, o, _ in chunk]
            ids = [h + t for h, t in zip(heads, tails)]
            width, pad = max(map(len, ids)), tok.pad_token_id
            input_ids = torch.tensor([x + [pad] * (width - len(x)) for x in ids], device=self.device)   # right-pad
            mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in ids], device=self.device)
            segs = torch.as_tensor(np.concatenate([e for *_, e in chunk]), device=self.device)
            logp = self.llm(inputs_embeds=self.embed_inputs(input_ids, segs), attention_mask=mask).logits
            logp = torch.log_softmax(logp.float(), dim=-1)                            # (B, L, V)
            for b, (h, t) in enumerate(zip(heads, tails)):
                pos = torch.arange(len(h) - 1, len(h) + len(t) - 1, device=self.device)   # predicts each tail token
                out[chunk[b][0]].append(float(logp[b, pos, torch.tensor(t, device=self.device)].sum()))
        return [np.array(o) for o in out]

    # -- save / load: safetensors + JSON, the LoRA adapter through peft ----------------------------------------
    def save_pretrained(self, folder) -> Path:
        """Save encoder, projector, LoRA adapter (if any), tokenizer and config into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.encoder.save_pretrained(folder / "encoder")
        with atomic_path(folder / "projector.safetensors") as tmp:
            save_file({k: v.detach().contiguous().cpu() for k, v in self.projector.state_dict().items()}, str(tmp))
        if hasattr(self.llm, "peft_config"):
            self.llm.save_pretrained(folder / "adapter")
            (folder / "adapter" / "README.md").unlink(missing_ok=True)    # peft's blank model card, with local paths
            _strip_local_base_path(folder / "adapter" / "adapter_config.json")
        save_tokenizer(self.tokenizer, folder / "tokenizer")
        write_text_atomic(folder / "e2llm_config.json", json.dumps(asdict(self.cfg), indent=1))
        if self.signatures is not None:
            write_text_atomic(folder / "signatures.json", json.dumps(self.signatures.to_dict()))
        if self.training_data is not None:
            write_text_atomic(folder / "training_data.json", json.dumps(self.training_data, indent=1))
        return folder

    @classmethod
    def from_pretrained(cls, folder, *, device: str = "auto") -> E2LLM:
        """Load a model saved by :meth:`save_pretrained` (the base LLM comes from ``cfg.llm.name_or_path``)."""
        from peft import PeftModel

        folder = Path(folder)
        if not (folder / "e2llm_config.json").exists():
            raise FileNotFoundError(f"no E2LLM checkpoint in {folder} (expected e2llm_config.json)")
        fix = f"re-save the model with E2LLM.save_pretrained, or copy {folder} again"
        raw = read_json(folder / "e2llm_config.json", fix=fix)
        try:
            cfg = config_from_dict(E2LLMConfig, raw)
        except (KeyError, TypeError, ValueError) as err:            # a field missing or of the wrong kind
            raise damaged(folder / "e2llm_config.json", err, fix) from err
        model = cls.build(EEGEncoder.from_pretrained(folder / "encoder"), cfg, device=device)
        if (folder / "adapter").exists():
            try:
                with quiet_peft():
                    model.llm = PeftModel.from_pretrained(model.llm, folder / "adapter")
            except unreadable() as err:
                raise damaged(folder / "adapter", err, fix) from err
        state = read_safetensors(folder / "projector.safetensors", fix=fix, device=str(model.device))
        try:
            model.projector.load_state_dict(state)
        except RuntimeError as err:                                 # tensors of another configuration
            raise damaged(folder / "projector.safetensors", f"its tensors do not fit e2llm_config.json: {err}",
                          fix) from err
        if (folder / "signatures.json").exists():
            raw = read_json(folder / "signatures.json", fix=fix)
            try:
                model.signatures = EmotionSignatures.from_dict(raw)
            except (KeyError, TypeError, ValueError) as err:
                raise damaged(folder / "signatures.json", err, fix) from err
        if (folder / "training_data.json").exists():
            model.training_data = read_json(folder / "training_data.json", fix=fix)
        return model.eval()
