"""Preference alignment with DPO (paper §4.2) on DeepSpeed ZeRO-3.

The command; the code is in ``training/dpo/command.py`` (``--help`` lists the options). Run it with the
project's interpreter, ``.venv/bin/python launch/dpo.py`` (or ``python`` with .venv activated): another
Python is told so in one line, before anything is imported.
"""

import sys

try:
    from common.interpreter import require_modules
except ModuleNotFoundError:  # the project itself is not installed in this Python
    print(f"error: this project is not installed in {sys.executable}; run `make setup` and use .venv/bin/python "
          "(or activate .venv)", file=sys.stderr)
    sys.exit(2)
require_modules("torch", "deepspeed", "transformers", "yaml")

from training.dpo.command import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
