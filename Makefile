# Two commands on a fresh machine: `make run` starts the service, `make test` checks everything.
SHELL := /bin/bash
UV := $(or $(shell command -v uv 2>/dev/null),$(HOME)/.local/bin/uv)

.PHONY: run test lint format bench

$(UV):
	@echo "uv not found: installing it for this user" >&2
	python3 -m pip install --user --quiet uv 2>/dev/null \
	  || python3 -m pip install --user --quiet --break-system-packages uv 2>/dev/null \
	  || curl -LsSf https://astral.sh/uv/install.sh | sh

run: | $(UV)
	$(UV) sync --frozen --no-dev
	$(UV) run --no-dev auto-code serve

test: | $(UV)
	$(UV) sync --frozen
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run pytest

format: | $(UV)
	$(UV) run ruff format .
	$(UV) run ruff check --fix .
