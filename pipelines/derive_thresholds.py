"""Derive per-language quality thresholds from the signal distributions of curated documents.

The command; the code is in ``pipelines/tools/derive_thresholds.py`` (``--help`` lists the options).
"""

import sys

from pipelines.tools.derive_thresholds import main

if __name__ == "__main__":
    sys.exit(main())
