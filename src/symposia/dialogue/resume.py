"""Finish an interrupted session from its stored plan. Each orchestrator is idempotent per step key, so
resuming is simply running the same plan again against the same session id."""

from __future__ import annotations

import dataclasses
from typing import Any

from symposia.dialogue.observer import Observer
from symposia.dialogue.runtime import Runtime
from symposia.errors import NotFoundError


async def resume_session(rt: Runtime, session_id: str, *, observer: Observer | None = None,
                         max_cost: float | None = None) -> Any:
    session = rt.archive.get_session(session_id)
    plan = dict(session.plan)
    kind = plan.get("kind", session.kind)
    if kind == "council":
        from symposia.dialogue.council import CouncilPlan, run_council

        cplan = CouncilPlan.from_dict(plan)
        if max_cost is not None:
            cplan = dataclasses.replace(cplan, max_cost=max_cost)
        return await run_council(rt, cplan, session_id=session.id, observer=observer)
    if kind == "symposium":
        from symposia.dialogue.symposium import run_symposium, symposium_plan_from_session

        return await run_symposium(rt, symposium_plan_from_session(session), session_id=session.id,
                                   observer=observer)
    if kind == "arena":
        from symposia.dialogue.arena import resume_arena

        return await resume_arena(rt, session.id, observer=observer)
    if kind == "study":
        from symposia.analysis.study import StudyPlan, run_study

        return await run_study(rt, StudyPlan.from_dict(plan), session_id=session.id, observer=observer)
    raise NotFoundError(f"session {session.id} is a {session.kind!r} session, which cannot be resumed "
                        "with `symposia resume` (a chat continues with `symposia chat --resume ID`)")
