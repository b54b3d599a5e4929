"""A recording stand-in for the `gh` CLI: tests put it first on PATH, so nothing reaches GitHub.

    shim = install_gh_shim(tmp_path)          # writes <tmp>/gh-shim/bin/gh
    monkeypatch.setenv("PATH", shim.path)     # or pass shim.environ(env) to a child
    ... run code that calls gh ...
    shim.calls()   # [{"argv": [...], "cwd": ..., "gh_token": True, "body": "..."}, ...]
    shim.prs()     # pull requests "opened" so far

Run as a script (through the `gh` wrapper) it appends each invocation to `$GH_SHIM_LOG` as a JSON
line: argv, cwd, whether GH_TOKEN was set (never its value), the contents of `--body-file` and
`GH_CONFIG_DIR` with the files in it.
Pull requests live in `$GH_SHIM_STATE`, so `pr list --head X` finds what `pr create` opened.
Supported: `--version`, `auth status`, `pr list|create|edit|view|ready`. `GH_SHIM_FAIL="pr create"`
(or "all") makes matching calls print `GH_SHIM_FAIL_MESSAGE` and exit 1; `GH_SHIM_STALE_LIST=1`
makes `pr list` find nothing, as GitHub's search can right after a PR was opened.
`GH_SHIM_HOLD=<file>`: while that file exists, a call whose arguments start with the file's text
(e.g. "pr list") is logged and then waits, like a GitHub that does not answer, until the file goes.
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_URL = "https://github.com/acme/widgets"
VALUE_FLAGS = {
    "--head": "head", "-H": "head", "--base": "base", "-B": "base", "--title": "title",
    "-t": "title", "--body": "body", "-b": "body", "--body-file": "body_file", "-F": "body_file",
    "--json": "json", "--state": "state", "-s": "state", "--limit": "limit", "-L": "limit",
    "--repo": "repo", "-R": "repo",
}  # fmt: skip
BOOL_FLAGS = {"--draft": "draft", "-d": "draft"}


@dataclass(frozen=True)
class GhShim:
    bin_dir: Path
    log_path: Path
    state_path: Path

    @property
    def path(self) -> str:
        """PATH with the shim first."""
        return f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"

    def environ(self, env: Mapping[str, str]) -> dict[str, str]:
        """`env` with the shim first on its PATH."""
        return {**env, "PATH": f"{self.bin_dir}{os.pathsep}{env.get('PATH', '')}"}

    def calls(self) -> list[dict[str, object]]:
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text().splitlines()]

    def prs(self) -> list[dict[str, object]]:
        return _load(self.state_path)["prs"]


def install_gh_shim(tmp_path: Path) -> GhShim:
    """Write a `gh` executable into `<tmp_path>/gh-shim/bin` that runs this file."""
    root = tmp_path / "gh-shim"
    bin_dir = root / "bin"
    bin_dir.mkdir(parents=True)
    shim = GhShim(bin_dir, root / "calls.jsonl", root / "state.json")
    wrapper = bin_dir / "gh"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'export GH_SHIM_LOG="${{GH_SHIM_LOG:-{shim.log_path}}}"\n'
        f'export GH_SHIM_STATE="${{GH_SHIM_STATE:-{shim.state_path}}}"\n'
        f'exec {shlex.quote(sys.executable)} {shlex.quote(__file__)} "$@"\n'
    )
    wrapper.chmod(0o755)
    return shim


def _load(state_path: Path) -> dict:
    if not state_path.exists() or not state_path.read_text():
        return {"prs": []}
    return json.loads(state_path.read_text())


def _parse(args: list[str]) -> tuple[list[str], dict[str, object]]:
    positional: list[str] = []
    flags: dict[str, object] = {}
    i = 0
    while i < len(args):
        name, eq, value = args[i].partition("=")
        if name in VALUE_FLAGS:
            if not eq:
                i += 1
                value = args[i]
            flags[VALUE_FLAGS[name]] = value
        elif args[i] in BOOL_FLAGS:
            flags[BOOL_FLAGS[args[i]]] = True
        else:
            positional.append(args[i])
        i += 1
    return positional, flags


def _fields(pr: dict, names: str) -> dict[str, object]:
    view = {**pr, "headRefName": pr["head"], "baseRefName": pr["base"], "isDraft": pr["draft"]}
    return {name: view.get(name) for name in names.split(",")}


def _find(prs: list[dict], selector: str) -> dict | None:
    return next((p for p in prs if selector in (str(p["number"]), p["head"], p["url"])), None)


def _pr(command: str, positional: list[str], flags: dict, prs: list[dict]) -> tuple[int, str]:
    """Run `gh pr <command>` against `prs` (changed in place); returns exit code and output."""
    if command == "list":
        if os.environ.get("GH_SHIM_STALE_LIST"):  # GitHub's search lags behind a fresh create
            return 0, "[]"
        state = flags.get("state", "open")
        rows = [p for p in prs if flags.get("head") in (None, p["head"])]
        rows = [p for p in rows if state in ("all", p["state"])]
        return 0, json.dumps([_fields(p, str(flags.get("json", "number,url"))) for p in rows])
    if command == "create":
        existing = next(
            (p for p in prs if p["head"] == flags["head"] and p["state"] == "open"), None
        )
        if existing:
            message = (
                f'a pull request for branch "{flags["head"]}" into branch "{existing["base"]}"'
            )
            return 1, f"{message} already exists:\n{existing['url']}"
        number = len(prs) + 1
        pr = {
            "number": number,
            "url": f"{REPO_URL}/pull/{number}",
            "head": flags["head"],
            "base": flags.get("base", "main"),
            "title": flags.get("title", ""),
            "body": flags.get("body", ""),
            "draft": bool(flags.get("draft")),
            "state": "open",
        }
        prs.append(pr)
        return 0, pr["url"]
    pr = _find(prs, positional[0]) if positional else None
    if pr is None:
        return 1, f"no pull requests found for {positional}"
    if command == "edit":
        pr.update({k: flags[k] for k in ("title", "body", "base") if k in flags})
    elif command == "ready":
        pr["draft"] = False
    elif command == "view" and "json" in flags:
        return 0, json.dumps(_fields(pr, str(flags["json"])))
    elif command != "view":
        return 2, f"gh shim: unsupported pr command {command!r}"
    return 0, f"{pr['title']}\n{pr['url']}"


def _hold(argv: list[str]) -> None:
    path = os.environ.get("GH_SHIM_HOLD")
    while path:
        try:
            prefix = Path(path).read_text().strip()
        except FileNotFoundError:
            return
        if not prefix or not " ".join(argv).startswith(prefix):
            return
        time.sleep(0.05)


def main(argv: list[str]) -> int:
    positional, flags = _parse(argv)
    if "body_file" in flags:
        flags["body"] = Path(str(flags["body_file"])).read_text(encoding="utf-8")
    record = {"argv": argv, "cwd": os.getcwd(), "gh_token": bool(os.environ.get("GH_TOKEN"))}
    config_dir = os.environ.get("GH_CONFIG_DIR")
    if config_dir:
        record["config_dir"] = {"path": config_dir, "files": sorted(os.listdir(config_dir))}
    if "body" in flags:
        record["body"] = flags["body"]
    with open(os.environ["GH_SHIM_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps(record) + "\n")
    _hold(argv)
    failing = os.environ.get("GH_SHIM_FAIL", "")
    if failing and (failing == "all" or " ".join(argv).startswith(failing)):
        print(os.environ.get("GH_SHIM_FAIL_MESSAGE", "HTTP 502: Bad Gateway"), file=sys.stderr)
        return 1
    if argv[:1] == ["--version"]:
        print("gh version 2.23.0 (shim)")
        return 0
    if positional[:2] == ["auth", "status"]:
        print("Logged in to github.com (shim)" if record["gh_token"] else "not logged in")
        return 0 if record["gh_token"] else 1
    if positional[:1] != ["pr"] or len(positional) < 2:
        print(f"gh shim: unsupported command {argv}", file=sys.stderr)
        return 2
    state_path = Path(os.environ["GH_SHIM_STATE"])
    with open(state_path, "a+", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # concurrent runs share one list of PRs
        state = _load(state_path)
        code, output = _pr(positional[1], positional[2:], flags, state["prs"])
        state_path.write_text(json.dumps(state, indent=2))
    print(output, file=sys.stdout if code == 0 else sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
