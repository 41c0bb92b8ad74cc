"""Builds ``lexbor_walk``, the compiled DOM walk of the fast extraction engine (see lexbor_walk.c).

It reads lexbor's nodes as the lexbor headers lay them out, so it must be compiled against the headers of the
very selectolax release that is installed: ``make setup`` downloads that release's sdist and passes its
``lexbor/source`` folder as LEXBOR_SOURCE, and the release as SELECTOLAX_VERSION (recorded in the module and
checked when the engine loads it). Without it the engine walks in Python, with the same result.
"""

import os
import sys
from pathlib import Path

from setuptools import Extension, setup

source = os.environ.get("LEXBOR_SOURCE")
version = os.environ.get("SELECTOLAX_VERSION")
if not source or not (Path(source) / "lexbor" / "dom" / "interfaces" / "node.h").is_file() or not version:
    sys.exit("lexbor_walk: set LEXBOR_SOURCE to the lexbor/source folder of the selectolax sdist and "
             "SELECTOLAX_VERSION to its release (make setup does both)")

setup(
    name="marco-lexbor-walk",
    version="1.0",
    description="Compiled DOM walk of the fast main-content extraction engine (selectolax / lexbor)",
    ext_modules=[Extension(
        "lexbor_walk",
        sources=[str(Path(__file__).parent / "lexbor_walk.c")],
        include_dirs=[source],
        define_macros=[("LEXBOR_STATIC", None), ("SELECTOLAX_VERSION", f'"{version}"')],
        extra_compile_args=["-O2"],
    )],
)
