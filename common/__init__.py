"""What every part of the project shares, training included: typed-config checking (``config_check``), remote
and compressed files (``remote_files``, ``compressed_files``), the per-process model cache (``model_cache``),
target languages (``languages``), ICU word segmentation (``words``), LM text normalization (``lm_text``)
the Qwen2 tokenizer (``tokenizer``) and lazily exported package names (``lazy_exports``).
"""
