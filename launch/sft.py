"""Multilingual supervised fine-tuning with neat packing (paper §4.1.2) on DeepSpeed ZeRO-3.

The command; the code is in ``training/sft/command.py`` (``--help`` lists the options).
"""

import sys

from training.sft.command import main

if __name__ == "__main__":
    sys.exit(main())
