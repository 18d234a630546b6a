# Developer shortcuts; CI runs .ci/run. EPYMARL_PATH defaults to the location CI uses (CONTRIBUTING.md).
EPYMARL_PATH ?= $(if $(wildcard ../epymarl/src/main.py),$(abspath ../epymarl),$(abspath ../shared/vendor/epymarl))
PYTHON ?= python3
PYTEST = EPYMARL_PATH=$(EPYMARL_PATH) PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python $(PYTHON) -m pytest

.PHONY: test test-fast lint e2e long format format-check doctor ablations configs ci

test:        ## every test, the EPyMARL layer included when EPYMARL_PATH holds a checkout
	$(PYTEST) -q --durations=15

test-fast:   ## everything but the end-to-end EPyMARL runs (a few minutes on 2 cores)
	$(PYTEST) -q -m "not slow"

e2e:         ## only the end-to-end runs through EPyMARL's main.py (without the research-sized ones)
	$(PYTEST) -q -m "slow and not long" --durations=15

long:        ## the research-sized runs: learning-check and LEED through main.py (tens of minutes)
	$(PYTEST) -q -m long --durations=15

lint:
	$(PYTHON) -m ruff check .
	lint-imports --no-cache --no-logo

format:      ## rewrite the tree with ruff format (settings in pyproject.toml)
	$(PYTHON) -m ruff format .

format-check: ## fail, listing the files, when `make format` would change any (as CI does)
	$(PYTHON) -m ruff format --check .

doctor:
	$(PYTHON) -m epymarl_llm_tools doctor $(EPYMARL_PATH)

ablations configs:   ## regenerate the ablation and LEED yamls in config/ from config/lolm_mappo.yaml
	$(PYTHON) -m epymarl_llm_tools configs

ci:
	bash .ci/run
