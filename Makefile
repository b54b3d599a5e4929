# Two commands on a fresh machine: `make run` starts the service, `make test` checks everything.
SHELL := /bin/bash
UV := $(or $(shell command -v uv 2>/dev/null),$(HOME)/.local/bin/uv)

.PHONY: run test lint format bench image-smoke

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

# Benchmarks (not part of `make test`): print figures and append them to bench/RESULTS.md.
# All of them take about 10 minutes; pick some with BENCH="ack repo_setup first_token overhead concurrency".
bench: | $(UV)
	$(UV) sync --frozen
	$(UV) run python -m bench $(BENCH)

# Build the real image with podman, export it and run it in a chroot (.ci/image_smoke.py says how).
# Needs root; installs podman and debootstrap when missing. Measured: 5 min from scratch, 4 with
# the cached debootstrap base, up to 15 when the 2 cores are busy with other work.
image-smoke: | $(UV)
	$(UV) sync --frozen
	UV=$(UV) $(UV) run python .ci/image_smoke.py
