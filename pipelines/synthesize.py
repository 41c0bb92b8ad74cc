"""Synthetic data for continual pretraining through an OpenAI-compatible endpoint (paper §3.1.4, Table 14).

The command; the code is in ``pipelines/synthesis/job.py`` (``--help`` lists the options).
"""

import sys

from pipelines.synthesis.job import main

if __name__ == "__main__":
    sys.exit(main())
