# The two commands of the README. Each sets up .venv on first use
# (tools/setup_env.sh; mmcv compiles the first time, seconds afterwards).
PYTHON := .venv/bin/python

# The oldest supported torch: its own environment (mmcv built against it)
# and the part of the suite that tests against mmdet and trains a toy model.
OLDEST_VENV := .venv-torch2.1
OLDEST_ENV := VENV=$(OLDEST_VENV) TORCH_SPEC=torch==2.1.2 \
	CONSTRAINTS=tools/constraints-torch2.1.txt
COMPAT_TESTS := tests/losses tests/functional tests/heads tests/samplers \
	tests/structures \
	tests/dropin tests/utils tests/test_registry.py \
	tests/tools/test_train_test.py tests/tools/test_resume.py

# The suite runs on every core (pytest-xdist), each worker and the tools it
# starts on one thread.
TEST_WORKERS ?= auto
PYTEST := OMP_NUM_THREADS=1 $(PYTHON) -m pytest -n $(TEST_WORKERS)

.PHONY: demo test test-torch2.1 lint setup setup-torch2.1 benchmark

setup:
	@bash tools/setup_env.sh

setup-torch2.1:
	@$(OLDEST_ENV) bash tools/setup_env.sh

demo: setup
	$(PYTHON) tools/ablate.py retinanet-toy --seeds 1 --jobs 2

lint: setup
	$(PYTHON) -m ruff check .

test: lint
	$(PYTEST)

test-torch2.1: setup-torch2.1
	OMP_NUM_THREADS=1 $(OLDEST_VENV)/bin/python -m pytest -n $(TEST_WORKERS) \
		$(COMPAT_TESTS)

benchmark: setup
	$(PYTHON) tools/benchmark.py
