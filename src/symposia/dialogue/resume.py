"""Finish a session from its stored plan — or from a corrected one.

Each orchestrator is idempotent per step key, and :meth:`Runtime.call` keeps a finished call only
while what it would be sent is unchanged, so resuming is running the plan again against the same
session id. ``resume_session(..., plan=FIXED)`` (``symposia resume SESSION --plan FIXED.toml``)
first diffs the stored plan against the new one by step id, records both in the session's
``meta["plan_versions"]``, retires the turns of steps the new plan removed, stores the new plan,
and runs it: unchanged calls are kept, the rest are made.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from symposia.dialogue.arena import resume_arena
from symposia.dialogue.council import CouncilPlan, run_council
from symposia.dialogue.observer import Observer
from symposia.dialogue.plan import Plan, plan_to_dict
from symposia.dialogue.runtime import Runtime
from symposia.dialogue.study import StudyPlan, run_study
from symposia.dialogue.symposium import run_symposium, symposium_plan_from_session
from symposia.errors import NotFoundError, UsageError
from symposia.records import utcnow

__all__ = ["PlanDiff", "adopt_plan", "plan_diff", "resume_session"]


@dataclass(frozen=True)
class PlanDiff:
    """Step ids of the new plan against the old, and whether anything outside the steps changed."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    header: tuple[str, ...] = field(default=())  # top-level keys that differ (title, voices, host…)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.header)

    def to_dict(self) -> dict[str, list[str]]:
        return {k: list(getattr(self, k)) for k in ("added", "removed", "changed", "unchanged", "header")}

    def summary(self) -> str:
        if self.empty:
            return f"no change ({len(self.unchanged)} steps)"
        parts = [f"{k} {', '.join(getattr(self, k))}" for k in ("changed", "added", "removed") if getattr(self, k)]
        if self.header:
            parts.append(f"changed {', '.join(self.header)}")
        return "; ".join([*parts, f"{len(self.unchanged)} steps unchanged"])


def plan_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> PlanDiff:
    """Compare two plans as stored (``plan_to_dict``): steps by id, everything else by key."""
    def steps(p: Mapping[str, Any]) -> dict[str, Any]:
        return {str(s.get("id")): s for s in p.get("steps", []) if isinstance(s, Mapping)}

    a, b = steps(old), steps(new)
    keys = sorted({*old, *new} - {"steps"})
    return PlanDiff(
        added=tuple(k for k in b if k not in a),
        removed=tuple(k for k in a if k not in b),
        changed=tuple(k for k in b if k in a and a[k] != b[k]),
        unchanged=tuple(k for k in b if k in a and a[k] == b[k]),
        header=tuple(k for k in keys if old.get(k) != new.get(k)),
    )


def adopt_plan(rt: Runtime, session_id: str, plan: Plan) -> PlanDiff:
    """Store ``plan`` as the session's plan, keeping the one it replaces in ``meta["plan_versions"]``."""
    session = rt.archive.get_session(session_id)
    old = dict(session.plan)
    new = {"kind": old.get("kind", "symposium"), **plan_to_dict(plan)}
    diff = plan_diff(old, new)
    if diff.empty:
        return diff
    versions = list(session.meta.get("plan_versions", []))
    if not versions:
        versions.append({"version": 1, "plan": old, "at": session.created_at.isoformat()})
    versions.append({"version": len(versions) + 1, "plan": new, "at": utcnow().isoformat(), "diff": diff.to_dict()})
    rt.archive.set_session_plan(session_id, new, {**session.meta, "plan_versions": versions})
    for t in rt.archive.session_turns(session_id):
        if t.id is not None and t.meta.get("step") in diff.removed and not t.meta.get("superseded"):
            rt.archive.retire_turn(t.id, "its step was removed from the plan")
    return diff


async def resume_session(rt: Runtime, session_id: str, *, observer: Observer | None = None,
                         max_cost: float | None = None, plan: Plan | None = None) -> Any:
    session = rt.archive.get_session(session_id)
    if plan is not None:
        if dict(session.plan).get("kind", session.kind) != "symposium":
            raise UsageError(f"session {session.id} is a {session.kind!r} session: --plan takes a symposium "
                             "plan and resumes a symposium session")
        diff = adopt_plan(rt, session.id, plan)
        if observer is not None:
            observer.note(f"plan: {diff.summary()}")
        session = rt.archive.get_session(session.id)
    stored = dict(session.plan)
    kind = stored.get("kind", session.kind)
    if kind == "council":
        cplan = CouncilPlan.from_dict(stored)
        if max_cost is not None:
            cplan = dataclasses.replace(cplan, max_cost=max_cost)
        return await run_council(rt, cplan, session_id=session.id, observer=observer)
    if kind == "symposium":
        return await run_symposium(rt, symposium_plan_from_session(session), session_id=session.id,
                                   observer=observer)
    if kind == "arena":
        return await resume_arena(rt, session.id, observer=observer)
    if kind == "study":
        return await run_study(rt, StudyPlan.from_dict(stored), session_id=session.id, observer=observer)
    raise NotFoundError(f"session {session.id} is a {session.kind!r} session, which cannot be resumed "
                        "with `symposia resume` (a chat continues with `symposia chat --resume ID`)")
