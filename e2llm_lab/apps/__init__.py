"""What a user runs: the quickstart, the shipped reference models, the builds of sample data and the tiny LM, the
notebooks' Colab setup, and the ``e2llm-lab`` command (:mod:`.cli`)."""
