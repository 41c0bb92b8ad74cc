"""Derive the per-language cosine thresholds of cross-lingual decontamination for a sentence encoder.

The command; the code is in ``pipelines/tools/derive_similarity_thresholds.py`` (``--help`` lists the options).
"""

import sys

from pipelines.tools.derive_similarity_thresholds import main

if __name__ == "__main__":
    sys.exit(main())
