"""Preference alignment with DPO (paper §4.2) on DeepSpeed ZeRO-3.

The command; the code is in ``training/dpo/command.py`` (``--help`` lists the options). Run it with the
project's interpreter, ``.venv/bin/python launch/dpo.py`` (or ``python`` with .venv activated): another
Python is told so in one line, before anything is imported.
"""

import importlib.util
import sys

# What the command needs, found without importing it (torch and DeepSpeed take seconds to import).
REQUIRED = ("torch", "deepspeed", "transformers", "yaml", "training")
MISSING = [name for name in REQUIRED if importlib.util.find_spec(name) is None]
if MISSING:
    WHAT = "this project (its training package)" if MISSING[0] == "training" else MISSING[0]
    print(f"error: {WHAT} is not installed in {sys.executable}; run `make setup` and use .venv/bin/python "
          "(or activate .venv)", file=sys.stderr)
    sys.exit(2)

from training.dpo.command import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
