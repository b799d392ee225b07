"""Why the tiny LM's rank answers can fall below chance: the reference's rank answers, taken apart.

Asks the reference's held-out subjects the rank task (three clips, "From most to least <attribute>: ..."), then
for every answer: the label it read for each clip ("Clip B: ... It matches fear."), whether its ranking sentence
names the clips with those same labels, whether its three readings tie on the attribute, whether its answer
line follows the order its own readings imply, and which orders it gives against which orders are true.

    python bench/rank_answers.py [--llm tiny|smollm2-135m] [--n 40]
"""
from __future__ import annotations

import argparse
import re
import warnings

import numpy as np
import pandas as pd


def take_apart(answers: pd.DataFrame, space) -> pd.DataFrame:
    """One row per rank answer: truth, order given, order its readings imply, ties, labels copied, correct."""
    rows = []
    for _, r in answers.iterrows():
        text = r.text_free
        reads = dict(re.findall(r"Clip ([ABC]): .*?It matches (\w+)\.", text))
        m = re.search(r"From most to least \w+: (.*?)\.\s*</think>", text)
        ranked = re.findall(r"(\w+) \(([ABC])\)", m.group(1)) if m else []
        ans = re.search(r"Answer: ([ABC]) > ([ABC]) > ([ABC])", text)
        order = "".join(ans.groups()) if ans else None
        score = space.score(r.attr)
        full = len(reads) == 3 and all(e in score for e in reads.values())
        ties = full and len({score[reads[c]] for c in "ABC"}) < 3
        implied = "".join(sorted("ABC", key=lambda c: -score[reads[c]])) if full else None
        rows.append({"truth": r.truth, "order": order, "implied_by_readings": implied, "readings_tie": ties,
                     "follows_readings": (order == implied) if full and not ties else np.nan,
                     "ranking_names_its_readings": bool(ranked) and all(reads.get(c) == e for e, c in ranked),
                     "correct": bool(r.correct)})
    return pd.DataFrame(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--llm", default="tiny")
    p.add_argument("--n", type=int, default=40)
    args = p.parse_args()
    warnings.filterwarnings("ignore")
    from e2llm_lab.apps.reference import load_reference_features, load_reference_model
    from e2llm_lab.data.splits import held_out_rows
    from e2llm_lab.evaluate.generation import evaluate_generation

    model = load_reference_model(llm=args.llm)
    fs = model.samples(load_reference_features(llm=args.llm))
    _, te = held_out_rows(model.held_out, fs)
    answers = evaluate_generation(model, fs, te, tasks=("rank",), n_per_task=args.n, seed=0)
    d = take_apart(answers, fs.label_space)
    free = d.follows_readings.dropna()
    print(f"{len(d)} rank answers of the {args.llm} reference (held-out subjects), chance of an exact order 1/6:")
    print(f"  exact order right                        {d.correct.mean():.3f}")
    print(f"  ranking sentence names its own readings  {d.ranking_names_its_readings.mean():.3f}")
    print(f"  the three readings tie on the attribute  {d.readings_tie.mean():.3f}")
    print(f"  answer follows its readings (no tie)     {free.mean():.3f} (n = {len(free)})")
    given, true = d.order.value_counts(), d.truth.value_counts()
    both = pd.DataFrame({"answered": given, "true": true}).fillna(0).astype(int)
    indep = float((both.answered * both.true).sum() / len(d) ** 2)
    print(f"  orders answered vs true:\n{both.sort_values('answered', ascending=False).T.to_string()}")
    print(f"  exact accuracy of these answers if they ignored the EEG (their orders' frequency x the truths'): "
          f"{indep:.3f}")


if __name__ == "__main__":
    main()
