"""Train the fast extraction engine's block classifier from the shared pages (held-apart split reported).

The command; the code is in ``pipelines/tools/train_extraction_model.py`` (``--help`` lists the options).
"""

import sys

from pipelines.tools.train_extraction_model import main

if __name__ == "__main__":
    sys.exit(main())
