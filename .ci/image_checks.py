"""The checks of `make image-smoke` on an exported image filesystem (see image_smoke.py).

Run as root inside a fresh network and mount namespace: `image_checks.py ROOTFS CONFIG_JSON`.
Each command runs as a container would: the image's user, environment and working directory, in
a chroot of ROOTFS, in its own PID namespace (so the image's tini is PID 1).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

PORT = 3001
BASE_URL = f"http://127.0.0.1:{PORT}"


class Image:
    def __init__(self, rootfs: Path, config: dict, settings: dict[str, str]) -> None:
        self.rootfs = rootfs
        self.config = config
        user = config["User"]
        entry = next(
            line.split(":")
            for line in (rootfs / "etc/passwd").read_text().splitlines()
            if line.split(":")[0] == user or line.split(":")[2] == user
        )
        self.userspec = f"{entry[2]}:{entry[3]}"
        self.env = {"HOME": entry[5]}
        self.env.update(item.split("=", 1) for item in config.get("Env", []))
        self.env.update(settings)

    def argv(self, command: list[str]) -> list[str]:
        """`command` as the image's user, in its environment and working directory."""
        return [
            "unshare", "--pid", "--fork", "--kill-child", f"--mount-proc={self.rootfs}/proc",
            "chroot", f"--userspec={self.userspec}", str(self.rootfs),
            "/usr/bin/env", "-i", "-C", self.config.get("WorkingDir") or "/",
            *(f"{name}={value}" for name, value in self.env.items()),
            *command,
        ]  # fmt: skip

    def run(self, command: list[str]) -> str:
        result = subprocess.run(
            self.argv(command), capture_output=True, text=True, timeout=120, check=False
        )
        expect(result.returncode == 0, f"{' '.join(command)}: {result.stdout.strip()[:80]}")
        return result.stdout


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"image-smoke: FAILED: {what}")
    print(f"    ok: {what}", flush=True)


def request(path: str, body: bytes | None = None, headers: dict[str, str] | None = None):
    """(status, JSON body or None); never raises for an HTTP error status."""
    req = urllib.request.Request(BASE_URL + path, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as response:  # noqa: S310 (fixed http URL)
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def wait_until(predicate, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise SystemExit(f"image-smoke: FAILED: timed out after {timeout}s waiting for {what}")


def issue_event(key: str) -> bytes:
    fields = {
        "summary": "Smoke test",
        "description": "h2. Goal\nNothing: the repository is unreachable on purpose.",
        "labels": ["auto-code"],
        "project": {"key": key.split("-")[0]},
    }
    event = {"webhookEvent": "jira:issue_created", "issue": {"key": key, "fields": fields}}
    return json.dumps(event).encode()


def check_tools(image: Image) -> None:
    for command in (["git", "--version"], ["gh", "--version"], ["node", "--version"],
                    ["npm", "--version"], ["corepack", "--version"], ["pnpm", "--help"]):  # fmt: skip
        if command[0] == "pnpm":
            image.run(["sh", "-c", "command -v pnpm yarn"])
        else:
            image.run(command)
    claude = image.rootfs / "usr/local/bin/claude"
    target = os.readlink(claude)
    expect(
        target.endswith("/claude_agent_sdk/_bundled/claude")
        and (image.rootfs / target.lstrip("/")).is_file(),
        f"`claude` on PATH is the CLI bundled in the SDK wheel: {target}",
    )
    copies = [
        Path(directory) / "claude"
        for directory in image.env["PATH"].split(":")
        if (image.rootfs / directory.lstrip("/") / "claude").exists()
    ]
    expect(copies == [Path("/usr/local/bin/claude")], f"no second Claude CLI on PATH: {copies}")
    image.run(["claude", "--version"])


def check_service(image: Image, secrets_used: list[str], log_path: Path) -> None:
    entrypoint = image.config.get("Entrypoint") or []
    with log_path.open("wb") as log:
        service = subprocess.Popen(
            image.argv([*entrypoint, *(image.config.get("Cmd") or [])]),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(
            lambda: alive(service, log_path) and reachable("/health"),
            timeout=120,
            what="GET /health",
        )
        expect(request("/health")[0] == 200, "GET /health answers 200")
        test = image.config["Healthcheck"]["Test"]
        image.run(test[1:] if test[0] == "CMD" else ["/bin/sh", "-c", test[1]])
        status, ready = request("/ready")
        expect(status == 200, f"GET /ready answers 200: {ready}")

        body = issue_event("SMOKE-1")
        headers = {"Content-Type": "application/json"}
        expect(request("/webhook/jira", body, headers)[0] == 401, "an unsigned webhook gets 401")
        digest = hmac.new(image.env["JIRA_WEBHOOK_HMAC_SECRET"].encode(), body, hashlib.sha256)
        signed = {**headers, "X-Hub-Signature": f"sha256={digest.hexdigest()}"}
        status, accepted = request("/webhook/jira", body, signed)
        expect(status == 202, f"a webhook signed with X-Hub-Signature gets 202: {accepted}")
        token = {**headers, "X-Webhook-Token": image.env["WEBHOOK_SECRET"]}
        status, _ = request("/webhook/jira", issue_event("SMOKE-2"), token)
        expect(status == 202, "a webhook with X-Webhook-Token gets 202")

        def ended() -> dict | None:
            run = request(f"/runs/{accepted['run_id']}")[1]
            return run if run["status"] not in ("queued", "running") else None

        run = wait_until(ended, timeout=180, what="the run to end")
        expect(
            run["status"] == "failed" and run["stage"] == "workspace",
            f"the durable queue ran it: failed at the unreachable repository ({run['status']}, "
            f"{run['stage']})",
        )
        expect((image.rootfs / "workspace/auto-code.sqlite").is_file(), "the database is in /workspace")
        record = json.dumps(run)
        leaked = [s for s in secrets_used if s in log_path.read_text() or s in record]
        expect(not leaked, "no secret in the service's output or the run record")
    finally:
        stop(service)
    expect(service.returncode == 0, f"SIGTERM to tini stops the service cleanly ({service.returncode})")


def alive(service: subprocess.Popen, log_path: Path) -> bool:
    if service.poll() is not None:
        raise SystemExit(f"image-smoke: the service exited:\n{log_path.read_text()[-3000:]}")
    return True


def reachable(path: str) -> bool:
    try:
        return request(path)[0] == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def stop(service: subprocess.Popen) -> None:
    """SIGTERM to tini (PID 1 of the service's namespace), which forwards it to auto-code."""
    children = Path(f"/proc/{service.pid}/task/{service.pid}/children")
    tini = children.read_text().split() if children.exists() else []
    os.kill(int(tini[0]) if tini else service.pid, signal.SIGTERM)
    try:
        service.wait(timeout=60)
    except subprocess.TimeoutExpired:
        service.kill()
        service.wait(timeout=30)


def main(rootfs: Path, config_path: Path) -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=30)
    settings = {
        "PORT": str(PORT),
        "REPO_URL": "https://github.com/example/widgets.git",
        "GH_TOKEN": secrets.token_hex(20),
        "ANTHROPIC_API_KEY": secrets.token_hex(24),
        "WEBHOOK_SECRET": secrets.token_hex(24),
        "JIRA_WEBHOOK_HMAC_SECRET": secrets.token_hex(24),
        "TRIGGER_LABEL": "auto-code",
    }
    image = Image(rootfs, json.loads(config_path.read_text()), settings)
    secret_values = [value for name, value in settings.items() if "TOKEN" in name or "KEY" in name
                     or "SECRET" in name]  # fmt: skip
    check_tools(image)
    check_service(image, secret_values, config_path.with_name("service.log"))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
