"""E2LLM: EEG encoder -> projector -> EEG tokens spliced into a Qwen causal LM's input embeddings.

Each EEG segment becomes ``n_regions + 1`` LLM tokens (one per brain region, plus the global embedding),
written where the prompt holds ``<|eeg|>`` placeholders. Each region token carries the encoder's region
embedding *and* the region's measured band profile (mean z-scored DE over its electrodes and windows): the
rationales the LLM writes are about those measured values, so they must reach it. A prompt may hold several
segments (comparison and ranking tasks); they fill the placeholders in reading order.

The model keeps embedding, ``forward``, ``generate`` and its save/load; the other jobs live beside it, as in
transformers: prompts and padding in :mod:`e2llm_lab.models.processor`, option scoring and answer-line choice in
:mod:`e2llm_lab.evaluate.scoring`, the held-out record and leakage policy in :mod:`e2llm_lab.data.splits`.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn
from tqdm.auto import tqdm
from transformers.modeling_outputs import CausalLMOutputWithPast

from .._atomic import atomic_path, write_text_atomic
from ..channels import regions_present
from ..config import E2LLMConfig, config_from_dict
from ..data.splits import HeldOut, training_windows
from ..errors import damaged, read_json, read_safetensors, unreadable
from ..text.chat import EEG_END, EEG_START, EEG_TOKEN
from ..text.instructions import ground
from ..text.rationales import EmotionSignatures, region_band_z
from .encoder import EEGEncoder
from .llm import added_token_rows, base_fingerprint, load_llm, lora_to_lm_dtype, quiet_peft, save_tokenizer
from .processor import EEGPromptProcessor
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


@torch.no_grad()
def label_word_embeddings(llm, tokenizer, labels) -> torch.Tensor:
    """The LM's input embedding of each label word as it follows a space in text (the mean over its sub-word
    tokens): ``(len(labels), hidden_size)``."""
    table = llm.get_input_embeddings().weight
    rows = []
    for label in labels:
        ids = EEGPromptProcessor(tokenizer).encode([" " + str(label)])[0]
        rows.append(table[ids].float().mean(0))
    return torch.stack(rows)


def _cast_safetensors(path: Path, dtype: torch.dtype) -> None:
    """Rewrite a safetensors file with its floating tensors in ``dtype`` (temp file + rename)."""
    from safetensors.torch import load_file

    state = {k: v.to(dtype) if v.is_floating_point() else v for k, v in load_file(str(path)).items()}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata={"format": "pt"})


def _strip_local_base_path(path: Path) -> None:
    """peft records the base model's folder as this machine's absolute path; keep only its name (loading never
    reads it: the base LLM comes from ``cfg.llm.name_or_path``). Hub ids stay as they are."""
    conf = json.loads(path.read_text())
    base = conf.get("base_model_name_or_path")
    if base and Path(base).is_absolute():
        conf["base_model_name_or_path"] = Path(base).name
        write_text_atomic(path, json.dumps(conf, indent=2))


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
        #: The data the model was trained on (:class:`~e2llm_lab.data.splits.HeldOut`, set by the training pipeline;
        #: saved with the model): which subjects it saw and never saw, and how window-level features became samples.
        self.held_out: HeldOut | None = None

    @classmethod
    def build(cls, encoder: EEGEncoder, cfg: E2LLMConfig = E2LLMConfig(), *, device: str = "auto") -> E2LLM:
        """Load ``cfg.llm`` and join it to ``encoder`` with a fresh projector."""
        llm, tok = load_llm(cfg.llm.name_or_path, device=device, dtype=cfg.llm.dtype)
        dev = llm.device
        in_dim = encoder.cfg.d_model + encoder.cfg.n_bands
        readout = (encoder.n_regions, encoder.cfg.n_bands) if cfg.projector.profile_readout else (0, 0)
        n_classes = len(encoder.label_space) if cfg.projector.head_reading else 0
        proj = EEGProjector(cfg.projector.kind, in_dim, llm.config.hidden_size, n_regions=readout[0],
                            n_bands=readout[1], max_segments=cfg.projector.max_segments, n_classes=n_classes).to(dev)
        if n_classes:
            proj.init_head_reading(label_word_embeddings(llm, tok, encoder.label_space.labels))
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

    @property
    def processor(self) -> EEGPromptProcessor:
        """Chat prompts, token ids and padding for this model's tokenizer."""
        return EEGPromptProcessor(self.tokenizer)

    def samples(self, fs):
        """Window-level features (``n_steps = 1``) -> the model's samples, windowed as in training; checked."""
        fs = training_windows(fs, self.encoder.cfg.n_steps, self.held_out)
        self.check_features(fs)
        return fs

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
        probs = out.logits.softmax(-1) if self.projector.head is not None else None      # the stage-1 reading
        return self.projector(torch.cat([tokens, padded], dim=-1), profile, segment, probs)   # -> (S, R+1, H)

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

    def forward(self, input_ids, attention_mask, eeg, labels=None, weights=None):
        """Causal-LM forward of prompts with their EEG segments spliced in.

        Parameters
        ----------
        input_ids, attention_mask : torch.Tensor, shape (B, L)
        eeg : torch.Tensor, shape (S, T, C, F)
        labels : torch.Tensor of int, shape (B, L), optional
            The tokens to learn, -100 on prompt and padding tokens. With them the LM head runs only on the
            positions that predict a label token, not over the whole vocabulary at every position (the head of a
            49k-word LM is a fifth of its forward pass, and most positions of a prompt are never scored).
        weights : torch.Tensor, shape (B, L), optional
            A loss weight per label token (:class:`~e2llm_lab.config.TrainConfig`'s ``decision_weight``).

        Returns
        -------
        transformers.modeling_outputs.CausalLMOutputWithPast
            Without ``labels``: the LM's output (``logits`` of shape (B, L, V)). With them: ``loss``, the cross-entropy
            of the label tokens (``sum(w * ce) / sum(w)``; equal weights give the causal LM's own mean loss), and
            ``logits`` of the scored positions only, shape (N, V).
        """
        embeds = self.embed_inputs(input_ids, eeg)
        if labels is None:
            return self.llm(inputs_embeds=embeds, attention_mask=attention_mask)
        base = self.llm.get_base_model() if hasattr(self.llm, "get_base_model") else self.llm
        hidden = base.get_decoder()(inputs_embeds=embeds, attention_mask=attention_mask).last_hidden_state
        target = labels[:, 1:]                                       # position i predicts token i + 1
        keep = target != -100
        logits = base.get_output_embeddings()(hidden[:, :-1][keep]).float()         # (B, L-1, H)[keep] -> (N, V)
        cap = getattr(base.config, "final_logit_softcapping", None)                 # Gemma 2 caps its logits
        if cap:
            logits = cap * torch.tanh(logits / cap)
        ce = torch.nn.functional.cross_entropy(logits, target[keep], reduction="none")
        w = torch.ones_like(ce) if weights is None else weights[:, 1:].to(ce)[keep]
        loss = (w * ce).sum() / w.sum().clamp_min(1e-8)
        return CausalLMOutputWithPast(loss=loss, logits=logits)

    @torch.no_grad()
    def generate(self, prompts: list[str], eeg: list[np.ndarray], *, max_new_tokens: int = 256,
                 batch_size: int = 128, prefixes: list[str] | None = None, mode: str = "free",
                 stop_at_think_end: bool = False, progress: bool = False) -> list[str]:
        """Greedy answers to user prompts, each with its EEG segments.

        Parameters
        ----------
        prompts : list of str
            User messages holding ``n_eeg_tokens`` placeholders per segment (see ``instructions.eeg_placeholder``).
        eeg : list of np.ndarray, each (n_segments, T, C, F)
        mode : {"free", "grounded"}
            Free: the model writes its evidence. Grounded: each segment's measured evidence (its closest signatures
            and label-free deviations, computed here from ``eeg`` with :attr:`signatures`) is placed after its EEG in
            the prompt (:func:`~e2llm_lab.text.instructions.ground`), and the model reasons and decides after it.
        prefixes : list of str, optional
            Text the assistant's turn starts with (the answer continues it; it is part of the returned text).
        stop_at_think_end : bool
            Stop each answer at ``</think>``: the reasoning alone, for an answer line chosen among fixed options
            afterwards (constrained decoding: :func:`e2llm_lab.evaluate.scoring.choose_answer_lines`).
        batch_size : int
            Prompts per call of the LM's ``generate``; prompts of similar length are batched together (and the
            answers returned in the order asked), so little work goes to padding.
        progress : bool
            A progress bar over the batches (tqdm).

        Returns
        -------
        list of str
            The assistant's text up to its end-of-turn token.
        """
        self.eval()
        if mode == "grounded":
            prompts = [self.ground(p, e) for p, e in zip(prompts, eeg)]
        elif mode != "free":
            raise ValueError(f"mode={mode!r}; allowed: 'free', 'grounded'")
        tok, proc = self.tokenizer, self.processor
        prefixes = prefixes or [""] * len(prompts)
        think_end = tok.convert_tokens_to_ids("</think>")
        one_token = think_end is not None and think_end != tok.unk_token_id
        stop = [tok.eos_token_id] + ([think_end] if stop_at_think_end and one_token else [])
        # an LM whose vocabulary spells </think> in several tokens (SmolLM2, Llama) stops on the string instead
        strings = {"stop_strings": ["</think>"], "tokenizer": tok} if stop_at_think_end and not one_token else {}
        ids = proc.encode(proc.chat(prompts, prefixes))
        order = sorted(range(len(prompts)), key=lambda k: len(ids[k]))    # similar lengths share a batch: less padding
        texts: list[str] = [""] * len(prompts)
        for i in tqdm(range(0, len(order), batch_size), desc="generating", unit="batch", disable=not progress):
            ks = order[i:i + batch_size]
            batch = proc.from_ids([ids[k] for k in ks], [eeg[k] for k in ks], side="left", device=self.device)
            # the EEG markers only ever stand for EEG the caller gives; an answer may never write one
            out = self.llm.generate(inputs_embeds=self.embed_inputs(batch["input_ids"], batch["eeg"]),
                                    attention_mask=batch["attention_mask"],
                                    max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tok.pad_token_id,
                                    eos_token_id=stop, bad_words_ids=[[self.eeg_start_id], [self.eeg_token_id],
                                                                      [tok.convert_tokens_to_ids(EEG_END)]],
                                    **strings)
            for k, row in zip(ks, out):
                text = tok.decode(row, skip_special_tokens=False)
                texts[k] = prefixes[k] + text.split(tok.eos_token)[0].replace(tok.pad_token, "").strip()
        return texts

    def ground(self, prompt: str, eeg: np.ndarray) -> str:
        """``prompt`` with the measured evidence of each of its EEG segments ``eeg`` (n_segments, T, C, F) after the
        segment, as grounded mode reads it (:func:`~e2llm_lab.text.instructions.ground`)."""
        if self.signatures is None:
            raise ValueError("grounded mode needs the model's signatures (learned from its training subjects)")
        ch = self.encoder.ch_names
        return ground(prompt, [region_band_z(seg, ch) for seg in np.asarray(eeg)], self.signatures,
                      present=regions_present(ch), bands=self.encoder.bands)

    # -- save / load: safetensors + JSON, the LoRA adapter through peft ----------------------------------------
    def save_pretrained(self, folder, *, adapter_dtype: str | None = None, tokenizer: bool = True) -> Path:
        """Save encoder, projector, LoRA adapter (if any), tokenizer and config into ``folder``.

        The base LM itself is never saved: ``base.json`` records its exact weights (:func:`~e2llm_lab.models.llm.
        base_fingerprint`) and :meth:`from_pretrained` refuses another base; ``added_embeddings.safetensors`` holds
        only the rows of the tokens this project added (random when the vocabulary was resized).

        Parameters
        ----------
        adapter_dtype : {"bfloat16"}, optional
            Store the LoRA weights in bf16 (half the bytes; a real LM's adapter is megabytes).
        tokenizer : bool
            Save the tokenizer too (a copy for convenience: loading rebuilds it from the base LM).
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.encoder.save_pretrained(folder / "encoder")
        with atomic_path(folder / "projector.safetensors") as tmp:
            save_file({k: v.detach().contiguous().cpu() for k, v in self.projector.state_dict().items()}, str(tmp))
        if hasattr(self.llm, "peft_config"):
            self.llm.save_pretrained(folder / "adapter", save_embedding_layers=False)   # rows: see below
            (folder / "adapter" / "README.md").unlink(missing_ok=True)    # peft's blank model card, with local paths
            _strip_local_base_path(folder / "adapter" / "adapter_config.json")
            if adapter_dtype is not None:
                _cast_safetensors(folder / "adapter" / "adapter_model.safetensors", getattr(torch, adapter_dtype))
        self._save_added_rows(folder / "added_embeddings.safetensors")
        write_text_atomic(folder / "base.json", json.dumps(base_fingerprint(self.cfg.llm.name_or_path), indent=1))
        if tokenizer:
            save_tokenizer(self.tokenizer, folder / "tokenizer")
        write_text_atomic(folder / "e2llm_config.json", json.dumps(asdict(self.cfg), indent=1))
        if self.signatures is not None:
            write_text_atomic(folder / "signatures.json", json.dumps(self.signatures.to_dict()))
        if self.held_out is not None:
            write_text_atomic(folder / "training_data.json", json.dumps(self.held_out.to_dict(), indent=1))
        return folder

    def _save_added_rows(self, path: Path) -> None:
        ids = torch.tensor(added_token_rows(self.tokenizer))
        rows = {"ids": ids, "input": self.llm.get_input_embeddings().weight[ids]}
        out = self.llm.get_output_embeddings()
        if out is not None and out.weight.data_ptr() != self.llm.get_input_embeddings().weight.data_ptr():
            rows["output"] = out.weight[ids]
        with atomic_path(path) as tmp:
            save_file({k: v.detach().contiguous().cpu() for k, v in rows.items()}, str(tmp))

    def _load_added_rows(self, path: Path, fix: str) -> None:
        rows = read_safetensors(path, fix=fix, device=str(self.device))
        ids = torch.tensor(added_token_rows(self.tokenizer), device=self.device)
        if "ids" not in rows or not torch.equal(rows["ids"], ids):
            raise damaged(path, f"its token ids {rows.get('ids')} are not the tokenizer's added tokens {ids}", fix)
        with torch.no_grad():
            self.llm.get_input_embeddings().weight[ids] = rows["input"].to(self.llm.dtype)
            if "output" in rows:
                self.llm.get_output_embeddings().weight[ids] = rows["output"].to(self.llm.dtype)

    def _check_base(self, folder: Path) -> None:
        saved = read_json(folder / "base.json", fix=f"re-save the model with E2LLM.save_pretrained, or copy {folder} "
                                                 f"again")
        now = base_fingerprint(self.cfg.llm.name_or_path)
        if saved.get("sha256") and now["sha256"] and saved["sha256"] != now["sha256"]:
            raise ValueError(f"{folder} was trained on other weights of {saved['name_or_path']!r} (its {saved['of']} "
                             f"sha256 {saved['sha256'][:12]}...) than the ones installed here "
                             f"({now['sha256'][:12]}...): its adapter and projector fit only that base; install the "
                             f"version it was trained on, or retrain (`e2llm-lab build-reference` for a reference)")

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
        if (folder / "base.json").exists():
            model._check_base(folder)
        if (folder / "added_embeddings.safetensors").exists():
            model._load_added_rows(folder / "added_embeddings.safetensors", fix)
        if (folder / "adapter").exists():
            try:
                with quiet_peft():
                    model.llm = PeftModel.from_pretrained(model.llm, folder / "adapter")
            except unreadable() as err:
                raise damaged(folder / "adapter", err, fix) from err
            lora_to_lm_dtype(model.llm)                       # a bf16 LM answers with bf16 adapters (as trained)
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
            raw = read_json(folder / "training_data.json", fix=fix)
            try:
                model.held_out = HeldOut.from_dict(raw)
            except (KeyError, TypeError, ValueError) as err:
                raise damaged(folder / "training_data.json", err, fix) from err
        return model.eval()
