"""Build the demo WARC from the project's own fixture pages (``pipelines/tools/demo_pages/``).

The command; the code is in ``pipelines/tools/demo_warc.py`` (``--help`` lists the options).
"""

import sys

from pipelines.tools.demo_warc import main

if __name__ == "__main__":
    sys.exit(main())
