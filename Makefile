# The two commands of the README:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Where torch comes from (scripts/torch_index.py): auto = PyTorch's CPU wheel index on a Linux machine
# without an NVIDIA GPU when it answers within 5 s, else pip's own index; cpu; pip; or an index URL.
TORCH_INDEX ?= auto
export HF_HUB_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: setup demo test browser

$(BIN)/animate-anyone: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, pinned: nothing later may replace it. Without a GPU, the CPU build (TORCH_INDEX above);
	# if the chosen index fails in auto mode, pip's own index (here: the local CPU wheel).
	options="$$($(PYTHON) scripts/torch_index.py $(TORCH_INDEX))" && \
	{ $(BIN)/pip install --quiet torch==2.13.0 $$options || \
	  { [ -n "$$options" ] && [ "$(TORCH_INDEX)" = auto ] && $(BIN)/pip install --quiet torch==2.13.0; }; }
	$(BIN)/pip install --quiet -c constraints.txt -e '.[pose,eval,ui,test]'
	touch $@

setup: $(BIN)/animate-anyone

demo: setup
	$(BIN)/animate-anyone demo --output outputs/demo
	@echo "animate-anyone is installed in $(BIN)/: in a new shell run 'source $(BIN)/activate' (or call $(BIN)/animate-anyone)"

# Debian's Chromium for the browser test of the web UI (tests/ui), installed where we may: as root with apt.
# Playwright drives it; its own browser download is not used. Without it that test skips (fails under CI).
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  { apt-get install -y -q chromium || { apt-get update -q && apt-get install -y -q chromium; }; }; } || \
	  echo "make: no chromium here: the browser test of the web UI will not run"

# Idle OpenMP threads sleep instead of spinning: on a CPU shared with other busy processes, spinning
# threads made tests up to 100x slower (docs/benchmarks.md); results are unchanged.
test: export OMP_WAIT_POLICY := PASSIVE
test: setup browser
	$(BIN)/python -m pytest -q

