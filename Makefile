# Two entry points on a fresh machine (no venv, no torch needed beforehand):
#   make run    create .venv if missing, install, run the main recipe
#   make test   create .venv if missing, install, run the whole test suite
# Overridable: PYTHON, VENV, RECIPE, RUN_ARGS, PYTEST_ARGS (e.g. make test PYTEST_ARGS=tests/test_core_recipe.py)

PYTHON ?= python3
VENV ?= .venv
TORCH_VERSION := 2.13.0
# the main job
RECIPE ?= recipes/flowers_caption.yaml
RUN_ARGS ?=
PYTEST_ARGS ?=
# results sections to regenerate (all when empty), e.g. make results SECTIONS="faces_attributes"
SECTIONS ?=

BIN := $(VENV)/bin
STAMP := $(VENV)/.sgfkit-installed

# no network at run time: sentence-transformers must use the model shipped as a package
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup run test test-fast results clean

setup: $(STAMP)

# torch goes first and pinned exactly, so that no other requirement can pull a different (huge) build
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install "torch==$(TORCH_VERSION)"
	$(BIN)/python -m pip install -e ".[dev]"
	# test-only: LPIPS reference; its torchvision dependency has no build for this torch (tests stub it)
	$(BIN)/python -m pip install --no-deps "lpips==0.1.4"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/sgfkit run $(RECIPE) $(RUN_ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# skip tests marked slow (quick local loop)
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow" $(PYTEST_ARGS)

# rerun the recipes behind the README's generated blocks, then rewrite those blocks
results: $(STAMP)
	$(BIN)/python results/build.py run $(SECTIONS)
	$(BIN)/python results/build.py render

clean:
	rm -rf build dist .pytest_cache .sgfkit-cache
