# The two commands of the README. Each sets up .venv on first use
# (tools/setup_env.sh; mmcv compiles the first time, seconds afterwards).
PYTHON := .venv/bin/python

.PHONY: demo test lint setup benchmark

setup:
	@bash tools/setup_env.sh

demo: setup
	$(PYTHON) tools/ablate.py retinanet-toy --seeds 1 --jobs 2

lint: setup
	$(PYTHON) -m ruff check .

test: lint
	$(PYTHON) -m pytest

benchmark: setup
	$(PYTHON) tools/benchmark.py
