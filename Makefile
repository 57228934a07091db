# The two commands of the README:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: setup demo test

$(BIN)/animate-anyone: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# CPU torch first, pinned: nothing later may replace it with a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -c constraints.txt -e '.[pose,eval,test]'
	touch $@

setup: $(BIN)/animate-anyone

demo: setup
	$(BIN)/animate-anyone demo --output outputs/demo

# Idle OpenMP threads sleep instead of spinning: on a CPU shared with other busy processes, spinning
# threads made tests up to 100x slower (docs/benchmarks.md); results are unchanged.
test: export OMP_WAIT_POLICY := PASSIVE
test: setup
	$(BIN)/python -m pytest -q

