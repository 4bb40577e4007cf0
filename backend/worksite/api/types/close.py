from __future__ import annotations

from enum import Enum

import strawberry

from worksite.domain import close


@strawberry.enum
class CloseReadinessState(str, Enum):
    READY = "ready"
    READY_WITH_WARNINGS = "ready with warnings"
    BLOCKED = "blocked"


@strawberry.type
class CloseReadiness:
    """Whether a workspace can be closed: blocking reasons need force."""

    state: CloseReadinessState
    reasons: list[str]
    warnings: list[str]
    steps: list[str] = strawberry.field(description="The close steps, in order.")
    modified_files: int
    untracked_files: int
    commits_ahead: int
    commits_behind: int


def close_readiness_type(verdict: close.CloseReadiness) -> CloseReadiness:
    state = verdict.worktree
    return CloseReadiness(
        state=CloseReadinessState(verdict.state),
        reasons=verdict.reasons,
        warnings=verdict.warnings,
        steps=verdict.steps,
        modified_files=state.modified if state else 0,
        untracked_files=state.untracked if state else 0,
        commits_ahead=state.ahead if state else 0,
        commits_behind=state.behind if state else 0,
    )
