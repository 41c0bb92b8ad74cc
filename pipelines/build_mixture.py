"""Plan a training stage's data blend from token shards (paper §3.2, Tables 1-3).

The command; the code is in ``pipelines/mixture/build.py`` (``--help`` lists the options).
"""

import sys

from pipelines.mixture.build import main

if __name__ == "__main__":
    sys.exit(main())
