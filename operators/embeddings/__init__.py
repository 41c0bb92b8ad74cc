"""Multilingual sentence encoders shared by the steps that compare meaning across languages: the parallel-data
similarity filter (``operators/parallel/``) and cross-lingual decontamination (``operators/decontamination/``).
``encoders.py`` holds both backends, LASER (the paper's) and Universal Sentence Encoder Multilingual v3."""
