"""Derive per-language perplexity cutoffs from a sample of curated documents.

The command; the code is in ``pipelines/tools/derive_ppl_cutoffs.py`` (``--help`` lists the options).
"""

import sys

from pipelines.tools.derive_ppl_cutoffs import main

if __name__ == "__main__":
    sys.exit(main())
