# Offline workflow: `make preview STACK=dev` and `make test` each build .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev
STAMP := $(VENV)/.installed
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec

PREVIEW_ARGS := $(if $(CONFIG),--config $(CONFIG),--stack $(STACK))
PREVIEW_ARGS += $(if $(JSON),--json $(JSON),)
PREVIEW_ARGS += $(if $(RENDER),--render $(RENDER),)
PREVIEW_ARGS += $(if $(POLICY_CONFIG),--policy-config $(POLICY_CONFIG),)
SCHEMA_ARGS := $(if $(SCHEMAS),--schemas $(SCHEMAS),) $(if $(URL),--url $(URL),) $(if $(PUBLIC),--public,)

.PHONY: preview test lint clean publish-schemas lint-schemas

$(STAMP): requirements.txt requirements-dev.txt policies/requirements.txt
	@echo "== setting up $(VENV) (first run: about a minute; each package is listed as it installs)"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check --progress-bar off -r requirements-dev.txt -r policies/requirements.txt \
		| { grep --line-buffered -E '^(Collecting|Successfully|ERROR)' || true; }
	touch $(STAMP)

preview: $(STAMP)
	$(PY) -m offline.preview $(PREVIEW_ARGS)

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -q

# Lint schemas/ (or SCHEMAS=dir) and publish them to the stack's Iglu Server; lint-schemas stays offline.
publish-schemas: $(STAMP)
	$(PY) -m tools.publish_schemas $(if $(CONFIG),--config $(CONFIG),--stack $(STACK)) $(SCHEMA_ARGS)

lint-schemas: $(STAMP)
	$(PY) -m tools.publish_schemas --lint-only $(SCHEMA_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) .pytest_cache
