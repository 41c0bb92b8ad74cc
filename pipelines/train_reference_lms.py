"""KenLM models for all 29 languages from the real text in shared/data, with held-out sentences.

The command; the code is in ``pipelines/tools/train_reference_lms.py`` (``--help`` lists the options).
"""

import sys

from pipelines.tools.train_reference_lms import main

if __name__ == "__main__":
    sys.exit(main())
