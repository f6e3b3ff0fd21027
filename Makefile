# The two commands of the README. Each sets up .venv on first use
# (tools/setup_env.sh; about 20 minutes the first time, seconds afterwards).
PYTHON := .venv/bin/python

.PHONY: demo test setup benchmark

setup:
	@bash tools/setup_env.sh

demo: setup
	$(PYTHON) tools/ablate.py retinanet-toy --seeds 1 --jobs 2

test: setup
	$(PYTHON) -m pytest

benchmark: setup
	$(PYTHON) tools/benchmark.py
