"""The knowledge-data job (``pipelines/curate_knowledge.py``)."""
