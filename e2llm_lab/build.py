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

from ._atomic import atomic_path, write_text_atomic
from .config import SyntheticConfig
from .data.samples import _COHORT, _FEATURES, _RAW, _TRIALS, SAMPLE_CONFIG, SAMPLE_DATA_CONFIG, load_sample
from .data.synthetic import iter_cohort, planted_effects_table, trials_table
from .encoder import region_pooling_matrix
from .instructions import corpus, make_examples
from .knowledge import knowledge_texts
from .llm import CHATML_TEMPLATE, EEG_TOKENS, chat_prompt, save_tokenizer
from .preprocess import featureset_from_recordings
from .quickstart import QUICKSTART_TEST_SUBJECTS

__all__ = ["build_samples", "CURRICULUM", "warmup_curriculum", "warmup_texts", "build_tiny_llm"]


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


#: The warm-up curriculum, in order (after OpenTSLM, Langer et al. 2025): multiple choice first, then captions
#: (descriptions of the measured evidence), then chain-of-thought answers. Each stage keeps replaying the
#: knowledge of the stages before it. Fractions of the steps, and of each stage's texts by source.
CURRICULUM: tuple[tuple[str, float, dict[str, float]], ...] = (
    ("multiple_choice", 0.5, {"questions": 0.85, "sentences": 0.15}),
    ("captioning", 0.15, {"describe": 0.4, "questions": 0.5, "sentences": 0.1}),
    ("chain_of_thought", 0.35, {"reasoning": 0.35, "describe": 0.05, "questions": 0.5, "sentences": 0.1}),
)
_MC_SYSTEM = "You answer multiple-choice questions."
_REASONING_TASKS = ("emotion", "valence_arousal", "compare", "rank")


def warmup_curriculum(tokenizer, fs, idx, *, n: int, seed: int = 0, n_sentences: int = 4000,
                      n_questions: int = 20000) -> list[tuple[str, list[str]]]:
    """The tiny model's warm-up texts by curriculum stage (:data:`CURRICULUM`), ``n`` in all, each stage shuffled.

    Sources: knowledge sentences and chat-formatted multiple-choice questions (:mod:`.knowledge`, warm-up
    wordings only), and chat-formatted instruction examples of rows ``idx`` (their EEG placeholders carry no
    information yet): ``describe`` captions, and the chain-of-thought tasks. Never the ``scenario`` task: that
    family stays held out for zero-shot evaluation.
    """
    rng = np.random.default_rng(seed)
    sentences, questions = knowledge_texts(seed, n_sentences=n_sentences, n_questions=n_questions)
    eos = tokenizer.eos_token
    pools = {"sentences": sentences,
             "questions": [chat_prompt(tokenizer, q, system=_MC_SYSTEM) + a + eos + "\n" for q, a in questions]}
    need = {src: int(sum(frac * share * n for _, frac, mix in CURRICULUM for s, share in mix.items() if s == src))
            for src in ("describe", "reasoning")}
    n_eeg = region_pooling_matrix(fs.ch_names).shape[0] + 1
    for src, tasks in (("describe", ("describe",)), ("reasoning", _REASONING_TASKS)):
        per_task = max(1, min(need[src], 4000) // len(tasks) + 1)   # a few thousand distinct, then repeats
        examples = make_examples(fs, idx, tasks=tasks, n_per_task=per_task, n_eeg_tokens=n_eeg,
                                 seed=seed + 1, verbose=False)
        pools[src] = [chat_prompt(tokenizer, ex.prompt) + ex.answer + eos + "\n" for ex in examples]
    cursor = dict.fromkeys(pools, 0)
    stages = []
    for name, frac, mix in CURRICULUM:
        texts = []
        for src, share in mix.items():
            k = int(round(frac * share * n))
            pool = pools[src]
            texts += [pool[(cursor[src] + i) % len(pool)] for i in range(k)]   # walk the pool, wrap around
            cursor[src] += k
        stages.append((name, [texts[i] for i in rng.permutation(len(texts))]))
    return stages


def warmup_texts(tokenizer, fs, idx, *, n: int, seed: int = 0, n_sentences: int = 4000,
                 n_questions: int = 20000) -> list[str]:
    """The tiny model's warm-up texts in curriculum order (:func:`warmup_curriculum`, stages concatenated)."""
    return [t for _, texts in warmup_curriculum(tokenizer, fs, idx, n=n, seed=seed, n_sentences=n_sentences,
                                                n_questions=n_questions) for t in texts]


_ASSISTANT = "<|im_start|>assistant\n"


def _answer_labels(batch, texts: list[str]) -> torch.Tensor:
    """Next-token targets: a chat text's answer only (its prompt, with random options and EEG placeholders, is
    context, not something to learn), a plain sentence in full; padding never."""
    labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
    ends = batch["offset_mapping"][..., 1]                                   # (B, L) char end of each token
    for i, text in enumerate(texts):
        start = text.rfind(_ASSISTANT)
        if start >= 0:
            labels[i, ends[i] <= start + len(_ASSISTANT)] = -100
    return labels


def _length_batches(tokenizer, texts: list[str], batch_size: int, rng: np.random.Generator) -> list[list[str]]:
    """Batches of texts of similar length (less padding), in random order within windows of 32 batches, so a
    curriculum stage keeps its place."""
    lengths = [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    window = 32 * batch_size
    out = []
    for start in range(0, len(texts), window):
        chunk = sorted(range(start, min(start + window, len(texts))), key=lambda i: lengths[i])
        batches = [[texts[i] for i in chunk[j:j + batch_size]] for j in range(0, len(chunk), batch_size)]
        out += [batches[i] for i in rng.permutation(len(batches))]
    return out


def _tiny_config(vocab_size: int, hidden_size: int, n_layers: int, n_heads: int, **ids) -> transformers.Qwen3Config:
    """The tiny model's Qwen3 configuration: tied embeddings, MLP 3x wide, one or two key/value heads."""
    return transformers.Qwen3Config(
        vocab_size=vocab_size, hidden_size=hidden_size, intermediate_size=3 * hidden_size, num_hidden_layers=n_layers,
        num_attention_heads=n_heads, num_key_value_heads=1 if n_heads % 2 else 2, head_dim=hidden_size // n_heads,
        max_position_embeddings=1024, tie_word_embeddings=True, rope_theta=10000.0, bos_token_id=None, **ids)


def build_tiny_llm(out_dir, *, seed: int = 0, vocab_size: int = 2048, hidden_size: int = 160, n_layers: int = 4,
                   n_heads: int = 5, steps: int = 1800, batch_size: int = 16, lr: float = 3e-3,
                   n_sentences: int = 4000, n_questions: int = 20000, progress: bool = True) -> Path:
    """Build the tiny offline Qwen3-architecture model deterministically and save it in HF format.

    1. a byte-level BPE tokenizer trained (``tokenizers``) on the package's own text: instruction examples of the
       sample cohort's training subjects and the world knowledge of :mod:`~e2llm_lab.knowledge`; ChatML template;
    2. a ``Qwen3ForCausalLM`` of ``n_layers`` x ``hidden_size`` (head size 32, two key/value heads);
    3. a language warm-up along :data:`CURRICULUM`: next-token training on what a real LLM brings from
       pre-training (sentences on scenes and feelings, multiple-choice questions with a short chain of thought),
       then captions, then chain-of-thought instruction examples (their EEG placeholders carry no information
       yet). The held-out ``scenario`` task, the held-out question wordings and the quickstart's held-out
       subjects never appear in it.

    Returns the folder (config.json, model.safetensors, tokenizer files, warmup.json).
    """

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    fs = load_sample(n_steps=4)
    train = np.flatnonzero(~fs.meta.subject.isin(QUICKSTART_TEST_SUBJECTS).to_numpy())
    n_eeg = region_pooling_matrix(fs.ch_names).shape[0] + 1
    sentences, questions = knowledge_texts(seed, n_sentences=n_sentences, n_questions=min(n_questions, 3000))
    world = sentences + [q for q, _ in questions] + [a for _, a in questions]
    tok = _train_tokenizer(corpus(fs, train, seed=seed, n_eeg_tokens=n_eeg) + world, vocab_size)
    cfg = _tiny_config(len(tok), hidden_size, n_layers, n_heads, eos_token_id=tok.eos_token_id,
                       pad_token_id=tok.pad_token_id)
    model = transformers.Qwen3ForCausalLM(cfg)
    stages = warmup_curriculum(tok, fs, train, n=steps * batch_size, seed=seed, n_sentences=n_sentences,
                               n_questions=n_questions)
    batches = [b for _, texts in stages for b in _length_batches(tok, texts, batch_size, rng)]
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=len(batches), pct_start=0.05)
    model.train()
    losses = []
    for texts in tqdm(batches, desc="tiny LLM warm-up", disable=not progress):
        batch = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False, return_offsets_mapping=True)
        labels = _answer_labels(batch, texts)
        loss = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=labels).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
    model.eval()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    save_tokenizer(tok, out)
    ends = np.cumsum([len(texts) // batch_size + (len(texts) % batch_size > 0) for _, texts in stages])
    write_text_atomic(out / "warmup.json", json.dumps({
        "seed": seed, "steps": len(batches), "batch_size": batch_size, "lr": lr, "n_sentences": n_sentences,
        "n_questions": n_questions, "n_texts": sum(len(t) for _, t in stages),
        "stages": [{"name": name, "n_texts": len(texts), "final_loss": float(np.mean(losses[max(0, e - 20):e]))}
                   for (name, texts), e in zip(stages, ends)]}, indent=1))
    return out
