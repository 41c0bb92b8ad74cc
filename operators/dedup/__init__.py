"""Deduplication kernels. These are not Operators: they are the array code that the global dedup stages
(``pipelines/global_dedup/``) and SFT dedup (``operators/dedup/whole_set.py``) run over whole corpora.

* ``minhash.py`` — shingles and MinHash signatures (datatrove's / datasketch's scheme), LSH band keys;
* ``simhash.py`` — 64-bit SimHash fingerprints and near pairs;
* ``exact_substrings.py`` — repeated token spans from a suffix array, mapped back to characters.
"""
