"""Clean and deduplicate instruction data for multilingual SFT (paper §4.1.1).

The command; the code is in ``pipelines/sft/curate.py`` (``--help`` lists the options).
"""

import sys

from pipelines.sft.curate import main

if __name__ == "__main__":
    sys.exit(main())
