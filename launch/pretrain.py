"""Two-stage continual pretraining (paper §3.2, Table 3).

The command; the code is in ``training/pretrain/command.py`` (``--help`` lists the options).
"""

import sys

from training.pretrain.command import main

if __name__ == "__main__":
    sys.exit(main())
