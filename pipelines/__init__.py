"""The jobs. A file directly in this folder is a command (``python pipelines/<name>.py``); its code lives in
the domain sub-packages: ``web/``, ``global_dedup/``, ``parallel/``, ``sft/``, ``preferences/``, ``mixture/``,
``tools/``, and what they share in ``runtime/``."""
