"""Common Crawl curation (``pipelines/curate_cc.py``): the order of steps (``steps.py``), the config
(``config.py``), chunked shard output (``shard_output.py``) and the job (``curate.py``)."""
