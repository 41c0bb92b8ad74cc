"""Preference alignment with DPO (paper §4.2) on DeepSpeed ZeRO-3.

The command; the code is in ``training/dpo/command.py`` (``--help`` lists the options).
"""

import sys

from training.dpo.command import main

if __name__ == "__main__":
    sys.exit(main())
