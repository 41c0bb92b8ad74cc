"""Curate Common Crawl WARC/WET files into per-language Parquet shards (paper §3.1.1).

The command; the code is in ``pipelines/web/curate.py`` (``--help`` lists the options).
"""

import sys

from pipelines.web.curate import main

if __name__ == "__main__":
    sys.exit(main())
