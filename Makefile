# Everything a fresh clone needs: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
BUILD := $(CURDIR)/.build
COLLECTIONS := $(BUILD)/collections
# ansible-test needs the collection at a path ending ansible_collections/m365ops/activation.
COLLECTION_LINK := $(COLLECTIONS)/ansible_collections/m365ops/activation
SANITY_ROOT := $(BUILD)/sanity/ansible_collections/m365ops/activation
GET_PIP_CACHE := $(HOME)/.ansible/test/cache/get_pip_24_2.py

export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_HOST_KEY_CHECKING := False
export ANSIBLE_NOCOLOR := 1

.PHONY: bench check demo test venv link deps tools pytest unit winsim contract integration molecule sanity lint build clean cores

venv: $(VENV)/.installed link deps

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

link:
	@mkdir -p $(dir $(COLLECTION_LINK))
	@ln -sfn ../../../.. $(COLLECTION_LINK)

# The collections galaxy.yml depends on (ansible.windows, for win_reboot), beside the link; a no-op once there.
deps: $(VENV)/.installed
	@$(BIN)/python scripts/dependencies.py >/dev/null

demo: venv
	$(BIN)/python scripts/demo.py

# Prints tables (docs/performance.md); not part of make test. BENCH_ARGS="--hosts 20 --big 0" for a quick look;
# PAGE_BENCH_ARGS="--hosts 1000" for the report page at one size.
bench: venv tools
	$(BIN)/python scripts/bench.py $(BENCH_ARGS)
	$(BIN)/python scripts/bench_report_page.py $(PAGE_BENCH_ARGS)

# pytest last, so the run ends with its "N passed" line.
test: build lint sanity molecule cores pytest

# The fleet smoke (audit, remediate, audit again, restore) under each older ansible-core the collection claims, held to
# the run under .venv's 2.19 (scripts/cores_smoke.py). make test runs the oldest; CORES="2.16 2.17 2.18" runs them all.
# ansible-core 2.20 and later need Python 3.12 or newer, named by CORES_PYTHON_NEXT (CORES="2.20 2.21"
# CORES_PYTHON_NEXT=/path/to/python3.12): optional, and not claimed in meta/runtime.yml.
CORES ?= 2.16
CORES_PYTHON_NEXT ?= python3.12
cores: venv link deps
	@for minor in $(CORES); do \
	  case $$minor in 2.1[0-9]) python="$(PYTHON)";; *) python="$(CORES_PYTHON_NEXT)";; esac; \
	  test -x $(BUILD)/cores/$$minor/bin/ansible-playbook || { $$python -m venv $(BUILD)/cores/$$minor && \
	    $(BUILD)/cores/$$minor/bin/python -m pip install --quiet "ansible-core~=$$minor.0" -r requirements.txt; } || exit 1; \
	done
	$(BIN)/python scripts/cores_smoke.py $(CURDIR)/$(VENV) $(foreach minor,$(CORES),$(BUILD)/cores/$(minor))

# The fast lane, about half a minute: unit tests (the agent's PowerShell parsed, its C# compiled), the simulator and
# the agent's contract, on every core; and the changelog fragments.
check: venv tools
	$(BIN)/python -m pytest -q -n auto tests/unit tests/winsim tests/contract
	$(BIN)/antsibull-changelog lint

# Mono's C# compiler checks the C# module_utils: scripts/system-packages.sh installs it from Debian where it is missing.
tools:
	@bash scripts/system-packages.sh

pytest: venv tools
	$(BIN)/python -m pytest -q -n auto tests

unit: venv
	$(BIN)/python -m pytest -q tests/unit

winsim: venv
	$(BIN)/python -m pytest -q tests/winsim

contract: venv
	$(BIN)/python -m pytest -q tests/contract

integration: venv
	$(BIN)/python -m pytest -q tests/integration

molecule: venv
	$(BIN)/molecule test --scenario-name default

build: venv
	rm -rf $(BUILD)/dist && mkdir -p $(BUILD)/dist
	$(BIN)/ansible-galaxy collection build --output-path $(BUILD)/dist .
	$(BIN)/python scripts/check_tarball.py $(BUILD)/dist/m365ops-activation-*.tar.gz

lint: venv
	$(BIN)/ansible-lint --profile production
	$(BIN)/antsibull-changelog lint

# validate-modules reads PowerShell argument specs through pwsh, which these machines lack: it runs on
# its own with tests/sanity/ps_argspec_standin.py as pwsh (static read of a literal $spec, see there).
PWSH_STANDIN := $(BUILD)/pwsh-standin
SANITY := $(BIN)/ansible-test sanity --venv --python 3.11 --color no

sanity: venv
	@mkdir -p $(dir $(GET_PIP_CACHE)) $(PWSH_STANDIN)
	cp tests/sanity/get_pip_offline.py $(GET_PIP_CACHE)
	printf '#!/bin/sh\nexec "%s" "%s" "$$@"\n' "$(BIN)/python" "$(CURDIR)/tests/sanity/ps_argspec_standin.py" > $(PWSH_STANDIN)/pwsh
	chmod +x $(PWSH_STANDIN)/pwsh
	rm -rf $(BUILD)/sanity && mkdir -p $(SANITY_ROOT)
	git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t $(SANITY_ROOT)
	cd $(SANITY_ROOT) && git init -q && git add -A && \
	  $(SANITY) --skip-test pslint --skip-test validate-modules $(SANITY_ARGS) && \
	  PATH=$(PWSH_STANDIN):$$PATH $(SANITY) --test validate-modules

clean:
	rm -rf $(BUILD) $(VENV)
