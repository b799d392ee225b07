"""Rebuilding what ``data_samples/`` ships: the synthetic sample cohort and the tiny offline Qwen3 model.

Only the command line (``e2llm-lab build-samples``, ``build-tiny-llm``) and ``data_samples/build.py`` use this module:
it sits after every pipeline step, so it may import them all.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import transformers
from tqdm.auto import tqdm

from .._atomic import atomic_path, write_text_atomic
from ..config import SyntheticConfig
from ..data.recordings import featureset_from_recordings
from ..data.samples import _COHORT, _FEATURES, _RAW, _TRIALS, SAMPLE_CONFIG, SAMPLE_DATA_CONFIG, load_sample
from ..data.synthetic import iter_cohort, planted_effects_table, trials_table
from ..models.encoder import region_pooling_matrix
from ..models.llm import save_tokenizer
from ..models.processor import EEGPromptProcessor
from ..text.chat import CHATML_TEMPLATE, EEG_TOKENS
from ..text.instructions import corpus, make_examples
from ..text.knowledge import MC_SYSTEM, knowledge_texts
from .quickstart import QUICKSTART_TEST_SUBJECTS

__all__ = ["build_samples", "warmup_texts", "build_tiny_llm"]


# -- the sample cohort ---------------------------------------------------------------------------------

def build_samples(out_dir, *, cfg: SyntheticConfig = SAMPLE_CONFIG, progress: bool = True) -> Path:
    """Rebuild the sample data deterministically into ``out_dir`` (files written atomically)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    first_raw, rows = {}, []

    def stream():
        for raw, row in iter_cohort(cfg):
            if not first_raw:
                first_raw["raw"] = raw.copy().crop(0, 30.0, include_tmax=False)
            rows.append(row)
            yield raw, row

    fs = featureset_from_recordings(stream(), SAMPLE_DATA_CONFIG, total=len(trials_table(cfg)), progress=progress)
    fs.save(out / _FEATURES)
    with atomic_path(out / _TRIALS) as tmp:
        pd.DataFrame(rows).to_csv(tmp, index=False)
    with atomic_path(out / _RAW) as tmp:
        # MNE insists on a *_raw.fif-like name for its own checks; write through a named temp copy.
        tmp_fif = tmp.with_name(tmp.name + "_raw.fif")
        first_raw["raw"].save(tmp_fif, fmt="single", overwrite=True, verbose="error")
        os.replace(tmp_fif, tmp)
    write_text_atomic(out / _COHORT, json.dumps({"synthetic": asdict(cfg), "data": asdict(SAMPLE_DATA_CONFIG),
                                                 "planted_effects": planted_effects_table().to_dict("records")},
                                                indent=1))
    return out


# -- the tiny offline model ------------------------------------------------------------------------------

def _train_tokenizer(texts: list[str], vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", *EEG_TOKENS, "<think>", "</think>"]
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, min_frequency=2,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>",
                                                pad_token="<|endoftext|>")
    fast.chat_template = CHATML_TEMPLATE
    return fast


def warmup_texts(tokenizer, fs, idx, *, n: int, seed: int = 0, n_sentences: int = 600,
                 n_questions: int = 600) -> list[str]:
    """The tiny model's warm-up texts, shuffled: chat-formatted instruction examples of rows ``idx`` (their EEG
    placeholders carry no information yet), scene sentences and multiple-choice questions (:mod:`.knowledge`).

    Never the ``scenario`` task: that family stays held out for zero-shot evaluation.
    """

    sentences, questions = knowledge_texts(seed, n_sentences=n_sentences, n_questions=n_questions)
    n_tasks = max(1, n - len(sentences) - len(questions)) // 5 + 1          # fill the rest with the 5 tasks
    n_eeg = region_pooling_matrix(fs.ch_names).shape[0] + 1
    examples = make_examples(fs, idx, n_per_task=n_tasks, n_eeg_tokens=n_eeg, seed=seed + 1)
    proc = EEGPromptProcessor(tokenizer)
    texts = [chat + ex.answer + tokenizer.eos_token + "\n" for chat, ex in zip(proc.chat([e.prompt for e in examples]),
                                                                               examples)]
    texts += sentences
    texts += [chat + a + tokenizer.eos_token + "\n"
              for chat, (_, a) in zip(proc.chat([q for q, _ in questions], system=MC_SYSTEM), questions)]
    return [texts[i] for i in np.random.default_rng(seed).permutation(len(texts))]


def build_tiny_llm(out_dir, *, seed: int = 0, vocab_size: int = 1024, hidden_size: int = 128, n_layers: int = 4,
                   steps: int = 600, batch_size: int = 16, n_sentences: int = 1500, n_questions: int = 1500,
                   progress: bool = True) -> Path:
    """Build the tiny offline Qwen3-architecture model deterministically and save it in HF format.

    1. a byte-level BPE tokenizer trained (``tokenizers``) on the package's own text: instruction examples of the
       sample cohort's training subjects and the world knowledge of :mod:`~e2llm_lab.text.knowledge`; ChatML template;
    2. a ``Qwen3ForCausalLM`` of ``n_layers`` x ``hidden_size``;
    3. a language warm-up: next-token training on chat-formatted instruction examples (their EEG placeholders
       carry no information yet) mixed with what a real LLM brings from pre-training: sentences linking everyday
       scenes to emotions and generic multiple-choice questions. The held-out ``scenario`` task and the
       quickstart's held-out subjects never appear in it.

    Returns the folder (config.json, model.safetensors, tokenizer files).
    """

    torch.manual_seed(seed)
    fs = load_sample(n_steps=4)
    train = np.flatnonzero(~fs.meta.subject.isin(QUICKSTART_TEST_SUBJECTS).to_numpy())
    n_eeg = region_pooling_matrix(fs.ch_names).shape[0] + 1
    sentences, questions = knowledge_texts(seed, n_sentences=n_sentences, n_questions=n_questions)
    world = sentences + [q for q, _ in questions] + [a for _, a in questions]
    tok = _train_tokenizer(corpus(fs, train, seed=seed, n_eeg_tokens=n_eeg) + world, vocab_size)
    cfg = transformers.Qwen3Config(
        vocab_size=len(tok), hidden_size=hidden_size, intermediate_size=3 * hidden_size, num_hidden_layers=n_layers,
        num_attention_heads=4, num_key_value_heads=2, head_dim=hidden_size // 4, max_position_embeddings=1024,
        tie_word_embeddings=True, rope_theta=10000.0, bos_token_id=None, eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id)
    model = transformers.Qwen3ForCausalLM(cfg)
    texts = warmup_texts(tok, fs, train, n=steps * batch_size, seed=seed, n_sentences=n_sentences,
                         n_questions=n_questions)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.1)
    model.train()
    proc = EEGPromptProcessor(tok)
    for step in tqdm(range(steps), desc="tiny LLM warm-up", disable=not progress):
        batch = proc.from_ids(proc.encode(texts[step * batch_size:(step + 1) * batch_size]), side="right")
        labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
        loss = model(**batch, labels=labels).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
    model.eval()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    save_tokenizer(tok, out)
    write_text_atomic(out / "warmup.json", json.dumps({"seed": seed, "steps": steps, "batch_size": batch_size,
                                                 "n_sentences": n_sentences, "n_questions": n_questions,
                                                 "final_loss": float(loss.detach()), "n_texts": len(texts)}, indent=1))
    return out
