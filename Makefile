# FallWatch: `make demo` runs the detector on a built-in example; `make test` runs the checks.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The demo needs only the runtime extra; tests and training need TensorFlow too (a larger install).
CPU_STAMP := $(VENV)/.stamp-cpu
DEV_STAMP := $(VENV)/.stamp-dev
# Debian packages the tests use for real parts: the MQTT broker, the shell linter, the unit checker.
DEBS := mosquitto shellcheck systemd

.PHONY: demo test lint bench system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(CPU_STAMP): setup.py | $(BIN)/python
	$(BIN)/pip install -q -e ".[cpu]"
	touch $@

$(DEV_STAMP): setup.py | $(BIN)/python
	$(BIN)/pip install -q -e ".[cpu,train,dev]"
	touch $@ $(CPU_STAMP)

demo: $(CPU_STAMP)
	$(BIN)/fallwatch demo

lint: $(DEV_STAMP)
	$(BIN)/ruff check edge tests bench
	$(BIN)/ruff format --check edge tests bench

test: $(DEV_STAMP) lint
	$(BIN)/python -m pytest -q

bench: $(DEV_STAMP)
	$(BIN)/python bench/classifier.py
	$(BIN)/python bench/pipeline.py

# Installs the Debian packages above when they are missing (needs root, as on CI and a fresh box).
system-deps:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; fi

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
