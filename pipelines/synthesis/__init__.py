"""Synthetic data (``pipelines/synthesize.py``, paper §3.1.4 and Table 14): keyword pools, Table 14's templates
with AttrPrompt attributes, few-shot and translated SFT-style data, asked of an OpenAI-compatible endpoint through
the preference pipeline's client and checked by the curation operators; the job is ``job.py``."""
