"""Tokenize curated shards into Megatron indexed datasets (paper §3.2: the token shards training reads).

The command; the code is in ``pipelines/mixture/tokenize_shards.py`` (``--help`` lists the options).
"""

import sys

from pipelines.mixture.tokenize_shards import main

if __name__ == "__main__":
    sys.exit(main())
