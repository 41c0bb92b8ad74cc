"""Chosen/rejected pairs for DPO from existing preference data (paper §4.2.1).

The command; the code is in ``pipelines/preferences/build.py`` (``--help`` lists the options).
"""

import sys

from pipelines.preferences.build import main

if __name__ == "__main__":
    sys.exit(main())
