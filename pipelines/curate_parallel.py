"""Curate parallel corpora into translation-template text for pretraining (paper §3.1.2, Table 13).

The command; the code is in ``pipelines/parallel/curate.py`` (``--help`` lists the options).
"""

import sys

from pipelines.parallel.curate import main

if __name__ == "__main__":
    sys.exit(main())
