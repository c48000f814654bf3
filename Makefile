# Offline workflow: `make preview STACK=dev` and `make test` each build .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev
STAMP := $(VENV)/.installed

PREVIEW_ARGS := $(if $(CONFIG),--config $(CONFIG),--stack $(STACK))
PREVIEW_ARGS += $(if $(JSON),--json $(JSON),)
PREVIEW_ARGS += $(if $(RENDER),--render $(RENDER),)
PREVIEW_ARGS += $(if $(POLICY_CONFIG),--policy-config $(POLICY_CONFIG),)

.PHONY: preview test lint clean

$(STAMP): requirements.txt requirements-dev.txt policies/requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -r policies/requirements.txt
	touch $(STAMP)

preview: $(STAMP)
	$(PY) -m offline.preview $(PREVIEW_ARGS)

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -q

lint: $(STAMP)
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) .pytest_cache
