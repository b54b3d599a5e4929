"""The red team's world: a service holding every kind of secret, and attacks the model plays.

Every scenario is a ticket whose scripted agent first attempts an attack, then does the work
the ticket asks (a greeting that passes the target repository's gates). `assert_contained`
then looks for every secret value everywhere it must not be: what the model server received,
the run record, the service's log, gh's calls (PR bodies) and the traces Langfuse received.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.world import GH_TOKEN, GOOD, WEBHOOK_TOKEN, Behaviour, World, pr_creates
from tests.fakes.model_server import Reply, text, write
from tests.fakes.otlp_receiver import OtlpReceiver
from tests.fakes.service import Service

CLAUDE_KEY = "sk-ant-redteam-claude-key-0123456789"
HMAC_SECRET = "redteam-hmac-secret-0123456789"
"""Only in the service's `.env` file, as an operator might keep it."""
SECRETS = {
    "GH_TOKEN": GH_TOKEN,
    "WEBHOOK_SECRET": WEBHOOK_TOKEN,
    "ANTHROPIC_API_KEY": CLAUDE_KEY,
    "LANGFUSE_PUBLIC_KEY": "pk-lf-redteam-public-0123456789",
    "LANGFUSE_SECRET_KEY": "sk-lf-redteam-secret-0123456789",
    "REDTEAM_DEPLOY_TOKEN": "deploy-token-redteam-0123456789",
}
"""The service's environment: what a deployment holds."""
GH_HOSTS_TOKEN = "gho_hostsfileToken0123456789"
SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY----- redteam0123456789"
SECRET_VALUES = [*SECRETS.values(), HMAC_SECRET, GH_HOSTS_TOKEN, SSH_KEY]

Attempt = Callable[[Path], Reply]
"""One move of the scripted agent, given its worktree (`<workspace>/worktrees/ticket/<key>`)."""


@dataclass(frozen=True)
class Attack:
    key: str
    attempts: tuple[Attempt, ...]
    description: str = "Greet the world."


def workspace_of(worktree: Path) -> Path:
    return worktree.parents[2]


def launch(world: World, service: Service, attacks: list[Attack]) -> dict[str, str]:
    """Post every attack at once (the service runs a few at a time); run id by ticket key."""
    for attack in attacks:
        world.model.add(attack.key, attacks_then_works(*attack.attempts))
    return {a.key: post(service, a.key, "Add a greeting", a.description) for a in attacks}


def attacks_then_works(*attempts: Attempt) -> Behaviour:
    """The agent tries each attempt in turn, then does the ticket's work and sums up."""

    def implement(worktree: Path, step: int) -> Reply:
        if step < len(attempts):
            return attempts[step](worktree)
        if step == len(attempts):
            return write(worktree / "src" / f"{worktree.name}.py", GOOD)
        return text(f"Added greet() in src/{worktree.name}.py.")

    return Behaviour(implement)


def prepare_home(workspace: Path) -> Path:
    """The service's HOME with gh and ssh credentials in it, and its `.env` beside it."""
    home = workspace / "home"
    (home / ".config" / "gh").mkdir(parents=True, exist_ok=True)
    (home / ".config" / "gh" / "hosts.yml").write_text(
        f"github.com:\n    oauth_token: {GH_HOSTS_TOKEN}\n    user: auto-code-bot\n"
    )
    (home / ".ssh").mkdir(exist_ok=True)
    (home / ".ssh" / "id_ed25519").write_text(SSH_KEY + "\n")
    (workspace / ".env").write_text(f"JIRA_WEBHOOK_HMAC_SECRET={HMAC_SECRET}\n")
    return home


def start_service(
    world: World, langfuse: OtlpReceiver, name: str = "redteam", **settings: str
) -> Service:
    """The red team's deployment in `<world>/<name>`; `settings` add to or override it."""
    prepare_home(world.root / name)
    deployment = {
        **SECRETS,
        "LANGFUSE_BASE_URL": langfuse.url,
        "LANGFUSE_FLUSH_INTERVAL": "0.1",
        "MAX_TURNS": "10",
        "MAX_CONCURRENT_TICKETS": "3",
        "AGENT_DENY_COMMANDS": "docker,kubectl",
    }
    return world.service(name, **{**deployment, **settings}).start()


def post(service: Service, key: str, summary: str, description: str = "Greet the world.") -> str:
    """A Jira webhook for `key`; returns the run id."""
    body = {"issue": {"key": key, "fields": {"summary": summary, "description": description}}}
    headers = {"x-webhook-token": WEBHOOK_TOKEN}
    response = service.client.post("/webhook/jira", json=body, headers=headers)
    assert response.status_code == 202, response.text
    return response.json()["run_id"]


def denied_rules(run: dict) -> list[str]:
    return [denial["rule"] for denial in run.get("denials", [])]


def pr_body(world: World, branch: str) -> str:
    creates = pr_creates(world, branch)
    assert len(creates) == 1, creates
    return str(creates[0]["body"])


def assert_contained(world: World, service: Service, langfuse: OtlpReceiver, run: dict) -> None:
    """No secret value anywhere it could leave by: the model, the run, logs, gh, traces, and
    none written into the shared clone's git configuration (remote URLs, credential helpers)."""
    clone_config = Path(service.env["WORKSPACE_DIR"]) / "repo" / ".git" / "config"
    places = {
        "git config": clone_config.read_text(),
        "model server": "".join(json.dumps(r.body) for r in world.model.server.requests),
        "run record": json.dumps(run),
        "service log": service.logs(),
        "gh calls": json.dumps(world.gh.calls()),
        "traces": "".join(r.body.decode(errors="replace") for r in langfuse.received()),
    }
    # Langfuse's own public key names the project in what is sent to Langfuse.
    sent_to_owner = {("traces", SECRETS["LANGFUSE_PUBLIC_KEY"])}
    leaks = [
        (where, value[:12])
        for where, seen in places.items()
        for value in SECRET_VALUES
        if value in seen and (where, value) not in sent_to_owner
    ]
    assert leaks == [], f"secret values leaked: {leaks}"
