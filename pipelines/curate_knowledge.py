"""Curate knowledge data (QA, STEM, math, code exported from Hugging Face): read with a field mapping, language
ID, quality rules that fit the data, benchmark decontamination, exact / MinHash / semantic dedup.

The command; the code is in ``pipelines/knowledge/curate.py`` (``--help`` lists the options).
"""

import sys

from pipelines.knowledge.curate import main

if __name__ == "__main__":
    sys.exit(main())
