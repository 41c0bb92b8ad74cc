"""Train a per-language KenLM n-gram model for the perplexity filter (CCNet-style).

The command; the code is in ``pipelines/tools/train_kenlm.py`` (``--help`` lists the options).
"""

import sys

from pipelines.tools.train_kenlm import main

if __name__ == "__main__":
    sys.exit(main())
