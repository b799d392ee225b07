"""Real-size check: Qwen3-0.6B architecture, stage-3 steps at batch 4 x 512 tokens with LoRA, on a CUDA GPU.

Builds the model from its configuration (random weights; no download needed), wraps it with LoRA on all linear
layers, splices EEG tokens from a real encoder through the projector, and times optimizer steps. Prints peak
GPU memory and step time for each setting, and whether it fits a 15 GB Colab T4. Without CUDA it says so and
exits 0.

    python bench/llm_memory.py [--steps 5]
"""
from __future__ import annotations

import argparse
import time

import torch

# Qwen3-0.6B's published architecture (config.json of Qwen/Qwen3-0.6B)
QWEN3_0_6B = dict(vocab_size=151936, hidden_size=1024, intermediate_size=3072, num_hidden_layers=28,
                  num_attention_heads=16, num_key_value_heads=8, head_dim=128, max_position_embeddings=40960,
                  rope_theta=1000000.0, rms_norm_eps=1e-6, tie_word_embeddings=True)
T4_BYTES = 15 * 10**9


def run(dtype: torch.dtype, checkpointing: bool, steps: int, batch: int = 4, seq: int = 512) -> tuple[float, float]:
    import transformers

    from e2llm_lab.config import EncoderConfig, LLMConfig
    from e2llm_lab.models.encoder import EEGEncoder
    from e2llm_lab.models.llm import add_lora
    from e2llm_lab.models.model import splice_eeg
    from e2llm_lab.models.projector import EEGProjector

    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    llm = transformers.Qwen3ForCausalLM(transformers.Qwen3Config(**QWEN3_0_6B)).to("cuda", dtype)
    llm = add_lora(llm, LLMConfig(gradient_checkpointing=checkpointing))
    enc = EEGEncoder(EncoderConfig(d_model=64, n_heads=4)).cuda().eval()
    proj = EEGProjector("mlp2x_gelu", 64 + 5, 1024, n_regions=11, n_bands=5).cuda()
    params = [p for p in llm.parameters() if p.requires_grad] + list(proj.parameters())
    opt = torch.optim.AdamW(params, lr=1e-4)
    eeg_id, n_eeg = 151665, 12
    times = []
    for i in range(steps + 1):
        ids = torch.randint(0, 151000, (batch, seq), device="cuda")
        ids[:, 10:10 + n_eeg] = eeg_id
        x = torch.randn(batch, 4, 62, 5, device="cuda")
        torch.cuda.synchronize()
        t = time.perf_counter()
        with torch.no_grad():
            out = enc(x)
        tokens = torch.cat([out.region_tokens, out.global_embedding[:, None]], 1)
        prof = torch.einsum("rc,stcf->srf", enc.pool, x) / 4
        tokens = torch.cat([tokens, torch.cat([prof, prof.new_zeros(batch, 1, 5)], 1)], -1)
        emb = splice_eeg(llm.get_input_embeddings()(ids), ids, proj(tokens, prof).flatten(0, 1), eeg_id)
        loss = llm(inputs_embeds=emb, labels=ids).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        if i:                                   # the first step pays for allocation and kernel selection
            times.append(time.perf_counter() - t)
    peak = torch.cuda.max_memory_allocated()
    del llm, opt
    return peak, sum(times) / len(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=5)
    args = p.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA GPU here: this bench needs one (Colab, or a GPU machine). Nothing measured.")
        return
    name = torch.cuda.get_device_name()
    print(f"device: {name}, capability {torch.cuda.get_device_capability()}")
    for dtype in (torch.float32, torch.bfloat16):
        for ckpt in (False, True):
            peak, step = run(dtype, ckpt, args.steps)
            fits = "fits" if peak < T4_BYTES else "does NOT fit"
            print(f"{str(dtype):15s} grad-checkpointing={ckpt!s:5s}: peak {peak / 2**30:5.1f} GiB, "
                  f"{step * 1000:6.0f} ms/step at batch 4 x 512 -> {fits} a 15 GB T4 (memory only)")
    print("A T4 runs fp32 (no native bf16); its step time is far longer than a Hopper GPU's.")


if __name__ == "__main__":
    main()
