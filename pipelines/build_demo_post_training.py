"""Build tiny SFT and preference data from a curated output, for trying the post-training launchers.

The command; the code is in ``pipelines/tools/demo_post_training.py`` (``--help`` lists the options).
"""

import sys

from pipelines.tools.demo_post_training import main

if __name__ == "__main__":
    sys.exit(main())
