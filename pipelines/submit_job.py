"""Submit a pipeline to a Ray cluster as a job that says what it is.

The command; the code is in ``pipelines/runtime/submit_job.py`` (``--help`` lists the options).
"""

import sys

from pipelines.runtime.submit_job import main

if __name__ == "__main__":
    sys.exit(main())
