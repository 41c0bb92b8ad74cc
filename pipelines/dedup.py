"""Global deduplication of curated shards: MinHash near-duplicates, then exact substrings (paper §3.1.1).

The command; the code is in ``pipelines/global_dedup/dedup.py`` (``--help`` lists the options).
"""

import sys

from pipelines.global_dedup.dedup import main

if __name__ == "__main__":
    sys.exit(main())
