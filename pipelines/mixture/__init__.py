"""Token shards and stage blends: tokenization into Megatron shards (``tokenize_shards.py``), the blend plan
(``plan.py``) and its command (``build.py``)."""
