# The two commands of the README. Both create .venv/ on first use (pip's cache makes reruns quick).
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: build test

# Set everything up and run the main job, offline (random weights: no ImageNet download needed).
build: $(STAMP)
	$(VENV)/bin/mnv3-sdk build --variant small --quant int8 --weights random --force

# The whole test suite; pytest's non-zero exits, including 5 (no tests ran), fail make.
test: $(STAMP)
	$(VENV)/bin/python -m pytest --durations=15

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@
