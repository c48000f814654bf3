# Offline workflow: `make preview STACK=dev` and `make test` each build .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev
STAMP := $(VENV)/.installed
# dbt gets its own environment: dbt-core needs protobuf 6, the policy pack pins protobuf 5.
DBT_VENV := .venv-dbt
DBT_STAMP := $(DBT_VENV)/.installed
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec

PREVIEW_ARGS := $(if $(CONFIG),--config $(CONFIG),--stack $(STACK))
PREVIEW_ARGS += $(if $(JSON),--json $(JSON),)
PREVIEW_ARGS += $(if $(RENDER),--render $(RENDER),)
PREVIEW_ARGS += $(if $(POLICY_CONFIG),--policy-config $(POLICY_CONFIG),)
PREVIEW_ARGS += $(if $(DIAGRAM),--diagram $(DIAGRAM),)
SCHEMA_ARGS := $(if $(SCHEMAS),--schemas $(SCHEMAS),) $(if $(URL),--url $(URL),) $(if $(PUBLIC),--public,)

# Operator tools (same .venv): outputs from a file, else from `pulumi stack output --json -s $(STACK)`.
SMOKE_SOURCE := $(if $(OUTPUTS),--outputs $(OUTPUTS),--stack $(STACK))
STACK_SOURCE := $(if $(CONFIG),--config $(CONFIG),--stack $(STACK))

.PHONY: venv preview test lint clean plan-snapshots smoke preflight publish-schemas lint-schemas bench diagram graphviz mutation

$(STAMP): requirements.txt requirements-dev.txt policies/requirements.txt
	@echo "== setting up $(VENV) (first run: one to two minutes; each package is listed as it installs)"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check --progress-bar off -r requirements-dev.txt -r policies/requirements.txt \
		| { grep --line-buffered -E '^(Collecting|Successfully|ERROR)' || true; }
	touch $(STAMP)

$(DBT_STAMP): modeling/dbt/requirements.txt
	@echo "== setting up $(DBT_VENV) (dbt for the modeling tests; under a minute, each package listed as it installs)"
	test -x $(DBT_VENV)/bin/python || $(PYTHON) -m venv $(DBT_VENV)
	$(DBT_VENV)/bin/python -m pip install --disable-pip-version-check --progress-bar off -r modeling/dbt/requirements.txt \
		| { grep --line-buffered -E '^(Collecting|Successfully|ERROR)' || true; }
	touch $(DBT_STAMP)

venv: $(STAMP) $(DBT_STAMP)

# offline.preview exits 0 ok, 1 invalid stack config, 2 mandatory policy violation. make reports any failed
# recipe as its own exit status 2, so the last line names the preview's code; scripts that need the code
# itself run `$(PY) -m offline.preview` directly.
preview: $(STAMP) $(if $(DIAGRAM),graphviz,)
	@echo "$(PY) -m offline.preview $(PREVIEW_ARGS)"
	@$(PY) -m offline.preview $(PREVIEW_ARGS) || { code=$$?; case $$code in \
		1) why="invalid stack config";; 2) why="a mandatory policy violation";; *) why="an unexpected error";; esac; \
		echo "make preview: offline.preview exited $$code ($$why); make itself exits 2 on any failure" >&2; \
		exit $$code; }

# Graphviz's `dot` renders the diagrams; installed from Debian's packages when missing (as root, else with sudo).
graphviz:
	@command -v dot >/dev/null || { \
		echo "== Graphviz (dot) is missing: installing Debian's graphviz package with apt-get"; \
		sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$sudo apt-get update && $$sudo apt-get install -y --no-install-recommends graphviz; }
	@dot -V

# The planned architecture of STACK (or CONFIG=file) as docs/architecture-<stack>.svg and .png (OUT=path to change).
diagram: $(STAMP) graphviz
	$(PY) -m offline.diagram $(STACK_SOURCE) $(if $(OUT),--out $(OUT),)

test: $(STAMP) $(DBT_STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -q -n auto --dist loadgroup

# What each shipped stack plans, recorded for tests/test_plan_snapshot.py: run after an intended change, review the diff.
plan-snapshots: $(STAMP)
	$(PY) tests/plan_snapshots.py

smoke: $(STAMP)
	$(PY) -m ops.smoke $(SMOKE_SOURCE) $(SMOKE_ARGS)

preflight: $(STAMP)
	$(PY) -m ops.preflight $(STACK_SOURCE) $(PREFLIGHT_ARGS)

# Lint schemas/ (or SCHEMAS=dir) and publish them to the stack's Iglu Server; lint-schemas stays offline.
publish-schemas: $(STAMP)
	$(PY) -m tools.publish_schemas $(STACK_SOURCE) $(SCHEMA_ARGS)

lint-schemas: $(STAMP)
	$(PY) -m tools.publish_schemas --lint-only $(SCHEMA_ARGS)

# Benchmarks (never part of `make test`): preview vs the SDK's floor, and the policy pack's throughput.
bench: $(STAMP)
	$(PY) -m bench.preview $(or $(REPEATS),5)
	$(PY) -m bench.policy_pack $(or $(REPEATS),5)

# Mutation score of one module or folder with mutmut (minutes on 2 cores; not part of `make test` or CI).
# MODULE=components/apps/ec2_service.py or MODULE=policies; MUTATION_JOBS=n mutants at a time (default 1).
mutation: $(STAMP)
	@test -n "$(MODULE)" || { echo "usage: make mutation MODULE=<file.py or folder>, e.g. MODULE=policies/snowplow_iam.py" >&2; exit 2; }
	$(PY) bench/mutation.py $(MODULE)

lint: $(STAMP)
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) $(DBT_VENV) .pytest_cache mutants
