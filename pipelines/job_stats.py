"""The per-operator statistics of a live or finished job, from the cluster's dashboard address alone.

The command; the code is in ``pipelines/runtime/job_stats.py`` (``--help`` lists the options).
"""

import sys

from pipelines.runtime.job_stats import main

if __name__ == "__main__":
    sys.exit(main())
