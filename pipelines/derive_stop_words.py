"""Derive per-language stop-word lists from word frequencies in reference text.

The command; the code is in ``pipelines/tools/derive_stop_words.py`` (``--help`` lists the options).
"""

import sys

from pipelines.tools.derive_stop_words import main

if __name__ == "__main__":
    sys.exit(main())
