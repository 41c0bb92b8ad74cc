"""Documents of clean reference text in the curated-output layout (``OUT/<lang>/*.parquet``).

The command; the code is in ``pipelines/tools/reference_documents.py`` (``--help`` lists the options).
"""

import sys

from pipelines.tools.reference_documents import main

if __name__ == "__main__":
    sys.exit(main())
