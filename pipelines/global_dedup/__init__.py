"""Global deduplication of a curated output (``pipelines/dedup.py``): MinHash (``minhash_dedup.py``, clusters by
``connected_components.py``), then exact substrings (``substring_dedup.py``); the job is ``dedup.py``."""
