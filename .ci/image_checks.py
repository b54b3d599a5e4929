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
from pathlib import Path

import httpx

PEEK = """\
import errno, json, os, subprocess

def environ(pid):
    try:
        with open(f"/proc/{pid}/environ", "rb") as file:
            return "read" if file.read() else "empty"
    except OSError as exc:
        return errno.errorcode[exc.errno]

control = subprocess.Popen(["sleep", "60"])
seen = {}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        with open(f"/proc/{pid}/stat") as file:
            comm, rest = file.read().split("(", 1)[1].rsplit(")", 1)
    except OSError:
        continue
    seen[pid] = {"comm": comm, "ppid": int(rest.split()[1]), "environ": environ(pid)}
control.kill()
control.wait()
print(json.dumps({"control": control.pid, "seen": seen}))
"""
"""What a script of the image's user sees of the container's processes: every environment."""


class Image:
    def __init__(self, rootfs: Path, config: dict, settings: dict[str, str]) -> None:
        self.rootfs = rootfs
        self.config = config
        user = config["User"].split(":")[0]
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
            *self.as_user(command),
        ]  # fmt: skip

    def as_user(self, command: list[str]) -> list[str]:
        return [
            "chroot", f"--userspec={self.userspec}", str(self.rootfs),
            "/usr/bin/env", "-i", "-C", self.config.get("WorkingDir") or "/",
            *(f"{name}={value}" for name, value in self.env.items()),
            *command,
        ]  # fmt: skip

    def run(self, command: list[str], *, beside: int | None = None) -> str:
        """Run `command` in a container of its own, or `beside` a running one (its PID 1's host
        pid), in its PID and mount namespaces as `docker exec` would."""
        argv = (
            ["nsenter", f"--target={beside}", "--pid", "--mount", *self.as_user(command)]
            if beside
            else self.argv(command)
        )
        result = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        output = (result.stdout or result.stderr).strip() or "(no output)"
        expect(result.returncode == 0, f"{' '.join(command)}: {output.splitlines()[0][:100]}")
        return result.stdout


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"image-smoke: FAILED: {what}")
    print(f"    ok: {what}", flush=True)


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
    for tool in ("git", "gh", "node", "npm", "corepack", "bwrap"):
        image.run([tool, "--version"])
    image.run(["sh", "-c", "command -v pnpm yarn"])
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
        if os.path.lexists(image.rootfs / directory.lstrip("/") / "claude")
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
    client = httpx.Client(base_url=f"http://127.0.0.1:{image.env['PORT']}", timeout=10)
    try:
        wait_until(lambda: started(client, service, log_path), timeout=120, what="the service")
        expect(client.get("/health").status_code == 200, "GET /health answers 200")
        test = image.config["Healthcheck"]["Test"]
        image.run(test[1:] if test[0] == "CMD" else ["/bin/sh", "-c", test[1]])
        ready = client.get("/ready")
        expect(ready.status_code == 200, f"GET /ready answers 200: {ready.text}")
        check_process_memory(image, init_of(service))

        body = issue_event("SMOKE-1")
        headers = {"Content-Type": "application/json"}
        unsigned = client.post("/webhook/jira", content=body, headers=headers)
        expect(unsigned.status_code == 401, "an unsigned webhook gets 401")
        digest = hmac.new(image.env["JIRA_WEBHOOK_HMAC_SECRET"].encode(), body, hashlib.sha256)
        signature = {"X-Hub-Signature": f"sha256={digest.hexdigest()}"}
        signed = client.post("/webhook/jira", content=body, headers={**headers, **signature})
        expect(signed.status_code == 202, f"a webhook signed with X-Hub-Signature: {signed.text}")
        token = {"X-Webhook-Token": image.env["WEBHOOK_SECRET"]}
        second = client.post(
            "/webhook/jira", content=issue_event("SMOKE-2"), headers={**headers, **token}
        )
        expect(second.status_code == 202, f"a webhook with X-Webhook-Token: {second.text}")

        def ended() -> dict | None:
            run = client.get(f"/runs/{signed.json()['run_id']}").json()
            return run if run["status"] not in ("queued", "running") else None

        run = wait_until(ended, timeout=180, what="the run to end")
        failed_at = (run.get("error") or {}).get("stage")
        expect(
            (run["status"], failed_at) == ("failed", "workspace"),
            "the durable queue ran it; git in the image could not reach the repository "
            f"({run['status']} at {failed_at})",
        )
        database = image.rootfs / "workspace/auto-code.sqlite"
        expect(database.is_file(), "the database is on the /workspace volume")
        output = log_path.read_text(errors="replace") + json.dumps(run)
        leaked = [value for value in secrets_used if value in output]
        expect(not leaked, "no secret in the service's output or the run record")
    finally:
        client.close()
        stop(service)
    # uvicorn re-raises the signal once it has shut down, so tini reports 128 + SIGTERM.
    graceful = "Application shutdown complete" in log_path.read_text(errors="replace")
    expect(
        graceful and service.returncode in (0, 128 + signal.SIGTERM),
        f"tini passes SIGTERM on and the service shuts down cleanly ({service.returncode})",
    )


def started(client: httpx.Client, service: subprocess.Popen, log_path: Path) -> bool:
    if service.poll() is not None:
        raise SystemExit(f"image-smoke: the service exited:\n{log_path.read_text()[-3000:]}")
    try:
        return client.get("/health").status_code == 200
    except httpx.TransportError:
        return False


def check_process_memory(image: Image, init: int) -> None:
    """Inside the running container, as its user: tini (PID 1) and the service refuse their
    environment (the container's credentials), while the user's other processes give theirs."""
    (image.rootfs / "peek.py").write_text(PEEK)
    report = json.loads(image.run(["python3", "/peek.py"], beside=init))
    seen = report["seen"]
    control = seen[str(report["control"])]
    expect(control["environ"] == "read", "the image's user reads its own processes' environment")
    expect(
        (seen["1"]["comm"], seen["1"]["environ"]) == ("tini", "EACCES"),
        f"but not tini's, PID 1: {seen['1']}",
    )
    children = [process for process in seen.values() if process["ppid"] == 1]
    expect(
        [(child["comm"], child["environ"]) for child in children] == [("auto-code", "EACCES")],
        f"nor the service's, tini's child: {children}",
    )


def init_of(service: subprocess.Popen) -> int:
    """The host pid of PID 1 of the service's namespace (tini): `unshare --fork`'s child."""
    children = Path(f"/proc/{service.pid}/task/{service.pid}/children")
    return int(children.read_text().split()[0])


def stop(service: subprocess.Popen) -> None:
    """SIGTERM to tini (PID 1 of the service's namespace), which forwards it to auto-code."""
    try:
        os.kill(init_of(service), signal.SIGTERM)
    except (OSError, IndexError):
        os.kill(service.pid, signal.SIGTERM)
    try:
        service.wait(timeout=60)
    except subprocess.TimeoutExpired:
        service.kill()
        service.wait(timeout=30)


def main(rootfs: Path, config_path: Path) -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=30)
    settings = {
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
    home = image.env["HOME"]
    volumes = set(image.config.get("Volumes") or {})
    expect(
        {"/workspace", f"{home}/.claude"} <= volumes,
        f"volumes for /workspace and the user's ~/.claude: {sorted(volumes)}",
    )
    check_tools(image)
    check_service(image, secret_values, config_path.with_name("service.log"))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
