"""Curation steps on ``pyarrow.Table`` batches.

The contract is at the top: ``base.py`` (Operator, Filter, Source, Outcome), ``runner.py`` (counting, drop
reasons and failure containment, the same in-process and on Ray) and ``stats.py`` (per-operator statistics).
The steps live by domain: ``web/``, ``parallel/``, ``sft/``; ``dedup/`` holds the dedup kernels and
``resources/`` the shipped word lists and models. Operators know no Ray, no files and no sinks.
"""
