"""The explorer builds and updates without a browser; the reasoning marks each claim against the features."""
import numpy as np
import pytest

from e2llm_lab.channels import REGION_NAMES
from e2llm_lab.config import EncoderConfig, PretrainConfig
from e2llm_lab.data.samples import load_sample
from e2llm_lab.interpret.widgets import Explorer, reasoning_html


@pytest.fixture(scope="module")
def fs():
    return load_sample().with_steps(4, stride=4)


def test_reasoning_marks_supported_and_unsupported_claims():
    z = np.zeros((11, 5))
    z[REGION_NAMES.index("left_temporal"), 4] = 1.2
    out = reasoning_html("<think> Left temporal gamma is higher than usual. Occipital alpha is lower than usual. "
                         "</think>\nEmotion: happiness", z)
    assert out.count("&#10003;") == 1 and out.count("&#10007;") == 1
    assert "measured z = +1.20" in out and "&lt;think&gt;" in out


def test_explorer_builds_and_updates_with_an_encoder(fs):
    from e2llm_lab.training.pretrain import pretrain_encoder

    enc, _ = pretrain_encoder(fs, PretrainConfig(selfsup_epochs=0, epochs=2),
                              encoder_cfg=EncoderConfig(d_model=16, n_heads=2, n_layers=1), progress=False)
    ex = Explorer(enc, fs, rows=np.flatnonzero(fs.meta.subject.isin([5, 6]).to_numpy()))
    assert ex.subject.options == (5, 6) and len(ex.clip.options) == 14
    first = ex.row
    assert len(ex.topomap.outputs) == 1 and "truth" in ex.status.value
    ex.subject.value = 6
    assert ex.row != first and ex.fs.meta.subject.iloc[ex.row] == 6
    n = len(ex.attributor.cache)
    ex.method.value = "occlusion_region"
    ex.band.value = "alpha"
    assert len(ex.attributor.cache) == n + 1 and "band: alpha" in str(ex.topomap.outputs[0])
    ex.method.value = "integrated_gradients"
    assert len(ex.attributor.cache) == n + 1                      # back to a cached attribution
    ex.emotion.value = "fear"
    assert "fear" in ex.current().target
    with pytest.raises(ValueError, match="E2LLM"):
        Explorer(enc, fs, target="e2llm")


def test_explorer_shows_the_generated_reasoning_of_an_e2llm(fs):
    import torch

    from e2llm_lab.config import E2LLMConfig
    from e2llm_lab.models.encoder import EEGEncoder
    from e2llm_lab.models.model import E2LLM
    from e2llm_lab.text.rationales import EmotionSignatures

    torch.manual_seed(0)
    model = E2LLM.build(EEGEncoder(EncoderConfig(d_model=16, n_heads=2, n_layers=1)), E2LLMConfig(), device="cpu")
    model.signatures = EmotionSignatures.fit(fs, np.arange(len(fs)))
    ex = Explorer(model, fs, rows=np.flatnonzero((fs.meta.subject == 5).to_numpy())[:8], target="e2llm")
    html = ex.reasoning.value
    assert "reasoning" in html and "Emotion:" in html                 # the constrained answer line is always there
    assert "E2LLM" in ex.current().target and (ex.row, "free", None) in ex._reasoning
    # grounded: the toolkit's measured evidence in the prompt, editable; an edit keeps the EEG and says so
    assert ex.block.value == ex.measured() and ex.measured().startswith("Closest learned signatures:")
    ex.mode.value = "grounded"
    assert "decision after the measured evidence" in ex.reasoning.value and "edited" not in ex.reasoning.value
    assert (ex.row, "grounded", ex.measured()) in ex._reasoning
    other = ex.measured().replace("Closest learned signatures:", "Closest learned signatures: anger (r = +0.90),")
    ex.block.value = other
    ex.ask.click()
    assert "(edited: not this sample's measurement)" in ex.reasoning.value and (ex.row, "grounded", other) in \
        ex._reasoning
    ex.window.value = ex.window.options[1][1]                          # another row: its own measurement again
    assert ex.block.value == ex.measured() and "edited" not in ex.reasoning.value


def test_llm_attention_to_eeg_tokens_is_a_share_per_layer(fs):
    import torch

    from e2llm_lab.config import E2LLMConfig
    from e2llm_lab.interpret.attention import llm_eeg_attention, plot_llm_attention_topomap, plot_llm_eeg_attention
    from e2llm_lab.models.encoder import EEGEncoder
    from e2llm_lab.models.model import E2LLM
    from e2llm_lab.text.chat import eeg_placeholder
    from e2llm_lab.text.instructions import TEMPLATES

    torch.manual_seed(0)
    model = E2LLM.build(EEGEncoder(EncoderConfig(d_model=16, n_heads=2, n_layers=1)), E2LLMConfig(), device="cpu")
    before = model.llm.config._attn_implementation
    prompt = TEMPLATES["emotion"][0].format(eeg=eeg_placeholder(model.n_eeg_tokens))
    att = llm_eeg_attention(model, prompt, fs.X[[0]], "<think> x </think>\nEmotion: fear")
    assert att.shape == (model.llm.config.num_hidden_layers, 12) and list(att.columns)[-1] == "global"
    assert ((att.to_numpy() >= 0) & (att.sum(axis=1).to_numpy()[:, None] <= 1 + 1e-5)).all()
    assert model.llm.config._attn_implementation == before                  # switched back
    assert len(plot_llm_eeg_attention(att).data[0].x) == 12
    sensors = [t for t in plot_llm_attention_topomap(att).data if getattr(t, "mode", None) == "markers"][0]
    assert len(sensors.x) == 62
