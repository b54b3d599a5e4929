"""Claude Agent SDK sessions: warm start, implement, fix by resume, read-only review, tool guard."""

from app.agent.calls import Policy
from app.agent.guard import Guard
from app.agent.options import AgentLimits, agent_env
from app.agent.prompts import fix_prompt, implementation_prompt, review_prompt
from app.agent.rules import RULES
from app.agent.sessions import (
    AgentResult,
    Finding,
    Review,
    fix,
    implement,
    review,
    start_warm,
)
from app.agent.warm_client import WarmClient

__all__ = [
    "RULES",
    "AgentLimits",
    "AgentResult",
    "Finding",
    "Guard",
    "Policy",
    "Review",
    "WarmClient",
    "agent_env",
    "fix",
    "fix_prompt",
    "implement",
    "implementation_prompt",
    "review",
    "review_prompt",
    "start_warm",
]
