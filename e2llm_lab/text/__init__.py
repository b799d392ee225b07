"""The text side of E^2-LLM: what the LLM is asked, what it answers, and how an answer is read.

- :mod:`.instructions`: task templates (composed from parts, some held out), instruction examples and their mix;
- :mod:`.rationales`: evidence sentences grounded in each sample's measured features, and the emotion signatures
  learned from the training subjects that the reasoning compares against;
- :mod:`.answers`: parsing an answer's label lines and checking every claim of its reasoning against the features;
- :mod:`.knowledge`: the scene and feeling knowledge the tiny LM's warm-up teaches, and its multiple-choice probe.

The label spaces the text speaks of (:mod:`e2llm_lab.labels`, :mod:`e2llm_lab.emotions`) stay below the data layer:
they travel with every FeatureSet. The modules' old homes (``e2llm_lab.text.instructions``, ...) re-export them.
"""
