"""Parallel data into Table 13 templates (``pipelines/curate_parallel.py``): config, steps and per-file tasks,
the job (``curate.py``)."""
