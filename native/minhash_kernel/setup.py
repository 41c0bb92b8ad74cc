"""Builds ``minhash_kernel``, the compiled shingle hashing and permutation of MinHash (see minhash_kernel.c).

It hashes with the XXH3 of the python-xxhash release that is installed, so ``make setup`` downloads that
release's sdist and passes its ``deps/xxhash`` folder as XXHASH_SOURCE and the release as XXHASH_RELEASE
(recorded in the module and checked when operators/dedup/minhash.py loads it). Without it signatures are
computed in Python and numpy, with the same result.
"""

import os
import sys
from pathlib import Path

from setuptools import Extension, setup

source = os.environ.get("XXHASH_SOURCE")
release = os.environ.get("XXHASH_RELEASE")
if not source or not (Path(source) / "xxhash.h").is_file() or not release:
    sys.exit("minhash_kernel: set XXHASH_SOURCE to the deps/xxhash folder of the python-xxhash sdist and "
             "XXHASH_RELEASE to its release (make setup does both)")

setup(
    name="marco-minhash-kernel",
    version="1.0",
    description="Compiled MinHash shingle hashing and permutations (XXH3-64, datasketch's legacy scheme)",
    ext_modules=[Extension(
        "minhash_kernel",
        sources=[str(Path(__file__).parent / "minhash_kernel.c")],
        include_dirs=[source],
        define_macros=[("XXHASH_SOURCE_VERSION", f'"{release}"')],
        extra_compile_args=["-O3"],
    )],
)
