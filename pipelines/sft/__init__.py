"""SFT data (``pipelines/curate_sft.py``): the curation config (``curation_config.py``), steps and per-file task
(``steps.py``), dedup (``dedup.py``) and the job (``curate.py``)."""
