"""Build operators/resources/lid_disambiguation.json (+ its model card) from NTREX-128 and Leipzig.

The command; the code is in ``pipelines/tools/train_lid_disambiguator.py`` (``--help`` lists the options).
"""

import sys

from pipelines.tools.train_lid_disambiguator import main

if __name__ == "__main__":
    sys.exit(main())
