# FallWatch: `make demo` runs MediaPipe and the detector on a shipped fall video; `make test` runs the checks;
# `make model` trains a model with the shipped model's recipe into runs/model (models/README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The demo needs only the runtime extra; tests and training need TensorFlow too (a larger install).
CPU_STAMP := $(VENV)/.stamp-cpu
DEV_STAMP := $(VENV)/.stamp-dev
# torch for `fallwatch pose export` and its tests: the CPU build (a 192 MB wheel; pip on this project's
# machines finds it on disk). An unpinned torch on x86_64 is PyPI's CUDA build: 555 MB plus ~2.2 GB of
# nvidia-* wheels, 5.5 GB installed, for nothing the tests use.
TORCH := torch==2.13.0
# Debian packages the tests use for real parts: the MQTT broker, the shell linter, the unit checker,
# the browser (and its driver) that tests the set-up page.
DEBS := mosquitto shellcheck systemd espeak-ng alsa-utils chromium chromium-driver
# `make model`: the shipped model's data sources, preset, seed and epochs (change them here, in one place).
# It writes to runs/model, never over the shipped, measured models/: those weights (commit cad29dc) no
# longer rebuild byte for byte, so a model this writes ships only after `fallwatch evaluate` (README).
MODEL_SOURCES := urfd_alphapose,md4fd_urfd,movenet_gru,gmdcsa24,urfd_video,phone_falls,le2i
MODEL_PRESET := gru16-dense32
MODEL_SEED := 0
MODEL_EPOCHS := 30
MODEL_OUT := runs/model
MODEL_DATASET := cache/model-dataset.npz
DATA ?= $(or $(FALLWATCH_DATA),../shared/data)
# Pose worker processes for the videos not yet in the pose cache (one per core: MediaPipe uses one).
JOBS ?= $(shell nproc 2>/dev/null || echo 1)
POSE_CACHE ?= $(HOME)/.cache/fallwatch/pose

.PHONY: demo test lint bench model system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(CPU_STAMP): setup.py | $(BIN)/python
	$(BIN)/pip install -q -e ".[cpu]"
	touch $@

$(DEV_STAMP): setup.py | $(BIN)/python
	$(BIN)/pip install -q -e ".[cpu,train,dev,export]" "$(TORCH)"
	touch $@ $(CPU_STAMP)

# `make demo WEB=8781` also serves the set-up page for the demo on 127.0.0.1:8781 (until Enter).
demo: $(CPU_STAMP)
	$(BIN)/fallwatch demo $(if $(WEB),--web $(WEB))

lint: $(DEV_STAMP)
	$(BIN)/ruff check edge tests bench setup.py
	$(BIN)/ruff format --check edge tests bench setup.py

test: $(DEV_STAMP) lint
	$(BIN)/python -m pytest -q

bench: $(DEV_STAMP)
	$(BIN)/python bench/classifier.py
	$(BIN)/python bench/pipeline.py

# Dataset (pose on every video not yet in POSE_CACHE, in JOBS processes) -> training -> ONNX (FP32 + FP16).
model: $(DEV_STAMP)
	$(BIN)/fallwatch dataset build --data "$(DATA)" --sources $(MODEL_SOURCES) --jobs $(JOBS) \
		--pose-cache "$(POSE_CACHE)" --out "$(MODEL_DATASET)"
	$(BIN)/fallwatch train --dataset "$(MODEL_DATASET)" --preset $(MODEL_PRESET) --seed $(MODEL_SEED) \
		--epochs $(MODEL_EPOCHS) --out "$(MODEL_OUT)"
	$(BIN)/fallwatch export "$(MODEL_OUT)/fallwatch.keras" --fp16

# Installs the Debian packages above when they are missing (needs root, as on CI and a fresh box).
system-deps:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; fi

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
