# auto-code: the webhook service and everything its pipeline runs (git, gh, the Claude CLI, Node.js).
#
#   podman build -t auto-code .                      # or: docker build -t auto-code .
#   podman build --build-arg BASE_IMAGE=localhost/auto-code-base:bookworm -t auto-code .
#
# BASE_IMAGE must be Debian bookworm (python3 is 3.11 there); `make image-smoke` builds one
# locally with debootstrap. No secret is needed to build and none is stored: credentials arrive at
# run time from the environment (compose's env_file).

ARG BASE_IMAGE=docker.io/library/debian:bookworm-slim

FROM ${BASE_IMAGE} AS build

# --force-unsafe-io: no fsync per unpacked file; the layer is written once, when it is committed
# (measured here: the runtime stage's packages install in 70 s instead of 170 s).
# DL3008 (pin apt versions): versions follow bookworm's security updates; a pin breaks the build
# as soon as one lands.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends -o DPkg::Options::=--force-unsafe-io \
        ca-certificates python3 python3-pip \
    && rm -rf /var/lib/apt/lists/*

# uv comes from PyPI (the only place this build fetches Python packages from). This stage is
# thrown away, so installing into the system Python is harmless.
ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir --break-system-packages "uv==${UV_VERSION}"

# Debian's Python, never a downloaded one: the runtime stage has the same /usr/bin/python3.11.
# UV_SYSTEM_CERTS: trust the image's CA store (which a locally made base may extend).
ENV UV_PYTHON=/usr/bin/python3.11 \
    UV_PYTHON_DOWNLOADS=never \
    UV_SYSTEM_CERTS=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1

WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY app ./app
RUN uv sync --frozen --no-dev --no-editable


FROM ${BASE_IMAGE}

# git and gh for the shared clone and pull requests; Node.js and npm because target repositories'
# lint and test commands need them; tini as PID 1 so the agent's child processes are reaped;
# bubblewrap and socat for the Claude CLI's own Bash sandbox (AGENT_SANDBOX, off by default).
# corepack puts pnpm and yarn on PATH and fetches the version a repository pins on first use;
# 0.33 is its last release that supports bookworm's Node.js 18.
# The user exists before the volumes are declared, so a new named volume starts owned by it.
# The Claude Code CLI is the one bundled in the claude-agent-sdk wheel (no second copy, and no
# Node.js needed for it); the symlink only puts it on PATH for operators (`claude --version`).
# tini is execute-only for the image's user: PID 1 keeps the container's environment (credentials
# from env_file), and the kernel makes a process non-dumpable when its user, holding no capability
# at exec (a non-root USER; compose drops them all), cannot read its executable; then the agent's
# scripts cannot read /proc/1/environ or /proc/1/mem (SECURITY.md).
ARG COREPACK_VERSION=0.33.0
# DL3008: as in the build stage, apt versions follow bookworm's security updates.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends -o DPkg::Options::=--force-unsafe-io \
        ca-certificates python3 git gh nodejs npm tini bubblewrap socat \
    && rm -rf /var/lib/apt/lists/* \
    && npm install --global --no-fund --no-audit "corepack@${COREPACK_VERSION}" \
    && corepack enable \
    && chmod 0711 /usr/bin/tini \
    && npm cache clean --force \
    && useradd --create-home --uid 10001 --user-group --shell /bin/bash autocode \
    && install -d -o autocode -g autocode /workspace /home/autocode/.claude \
    && ln -s /app/.venv/lib/python3.11/site-packages/claude_agent_sdk/_bundled/claude \
        /usr/local/bin/claude

COPY --from=build /app/.venv /app/.venv

ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    ENVIRONMENT=production \
    HOST=0.0.0.0 \
    PORT=3001 \
    WORKSPACE_DIR=/workspace \
    COREPACK_ENABLE_DOWNLOAD_PROMPT=0

USER 10001:10001
# Not the workspace: settings also load from `.env` in the working directory, and the agent can
# write under /workspace but not here.
WORKDIR /app

# Runs (database, shared clone, worktrees) and Claude sessions must survive a restart: resuming
# a session needs its transcript under ~/.claude/projects/ and the same worktree path.
VOLUME ["/workspace", "/home/autocode/.claude"]

EXPOSE 3001

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '3001') + '/health', timeout=4)"]

ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["auto-code", "serve"]
