# The two commands of the README. Both create .venv/ on first use (pip's cache makes reruns quick).
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: build test test-fast android-demo android-demo-model adb native-tools

# Set everything up and run the main job, offline (random weights: no ImageNet download needed).
build: $(STAMP)
	$(VENV)/bin/mnv3-sdk build --variant small --quant int8 --weights random --force

# Test processes (pytest-xdist workers, one PyTorch thread each): one per core of this 2-core machine.
TEST_WORKERS ?= 2
PYTEST := $(VENV)/bin/python -m pytest -n $(TEST_WORKERS) --dist worksteal

# The whole test suite; pytest's non-zero exits, including 5 (no tests ran), fail make.
test: $(STAMP) adb native-tools
	$(PYTEST) --durations=25

# The inner loop: every package, without the end-to-end tests marked slow (docs/testing.md).
test-fast: $(STAMP) adb native-tools
	$(PYTEST) -m "not slow" --durations=10

# The device tests drive emulated phones with Debian's real adb client and server
# (tests/emulated_android/): installed here when missing (CI runs as root; elsewhere sudo asks).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
adb:
	@command -v adb >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq adb >/dev/null; }
	@adb version | head -2

# The native runner's tests (tests/test_native_runner.py) build it for this host with g++ and for
# arm64 with Debian's cross compiler, and run the arm64 build under qemu-user: installed when missing.
native-tools:
	@command -v g++ >/dev/null && command -v aarch64-linux-gnu-g++ >/dev/null && command -v qemu-aarch64 >/dev/null || \
		{ $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
		g++ g++-aarch64-linux-gnu qemu-user >/dev/null; }
	@qemu-aarch64 --version | head -1

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	# Byte-compiled at install (not with --no-compile, 29 s quicker here): where PYTHONDONTWRITEBYTECODE
	# is set, as on this machine, every Python process would otherwise recompile torch when it imports it.
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

# Re-render the committed android-demo/ from the templates (tests/test_android.py checks it is current).
android-demo: $(STAMP)
	rm -rf android-demo
	$(VENV)/bin/python -c "from pathlib import Path; from mnv3_sdk.android.project import default_demo_settings, render_project; render_project(default_demo_settings(), Path('android-demo'), committed_demo=True)"

# The one step that makes the committed android-demo/ runnable (android-demo/README.md): git keeps no
# model, so this builds the default one (Small, int8) and copies it to where the library loads it
# from (ignored by git). DEMO_WEIGHTS=imagenet gives labels that mean something (one download).
DEMO_WEIGHTS ?= random
DEMO_MODEL := android-demo/classifier/src/main/assets/mnv3-sdk/com.example.mnv3/mnv3-small-int8.pte
android-demo-model: $(STAMP)
	$(VENV)/bin/mnv3-sdk build --variant small --quant int8 --weights $(DEMO_WEIGHTS) --force
	install -D -m 644 dist/mnv3-small-int8/mnv3-small-int8.pte $(DEMO_MODEL)
