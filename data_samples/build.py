"""Rebuild the sample data in this folder deterministically: `python data_samples/build.py`.

Same as `e2llm-lab build-samples`. The cohort's settings live in e2llm_lab.data.samples.SAMPLE_CONFIG.
"""
from pathlib import Path

from e2llm_lab.apps.build import build_samples

if __name__ == "__main__":
    print("written to", build_samples(Path(__file__).resolve().parent))
