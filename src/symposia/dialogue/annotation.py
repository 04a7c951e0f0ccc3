"""Annotations: observations, key formulations, a synthesis and a closing added to a finished session.

Any session — a council, an imported transcript, a symposium — can be annotated after the fact, by a
person (the CLI opens an editor or prompts) or by an LLM voice that drafts from the record
(``symposia annotate SESSION --host opus``). Whoever writes, every attributed quote is checked as any
host text is (:mod:`symposia.dialogue.attribution`); an LLM redrafts with the real words shown (at
most twice), a person is asked again.

Every version is kept: each annotation is a host turn with step key ``annotate:<kind>:v<N>`` and
``meta.version``; the transcript renders the latest version of each kind.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from symposia.dialogue.attribution import Speaker, TextCheck, problems_text
from symposia.dialogue.authoring import (
    AUTHORED_KINDS,
    Authored,
    authored_from_text,
    authoring_messages,
    authoring_system,
    check_authored,
    current_turns,
    draft_checked,
    judge_with,
    person_template,
    record_text,
    session_speakers,
    with_sources,
)
from symposia.dialogue.observer import NullObserver, Observer
from symposia.dialogue.runtime import Runtime
from symposia.errors import UsageError
from symposia.records import ErrorInfo, SessionRecord, TurnRecord

__all__ = ["ANNOTATION_KINDS", "AnnotationOutcome", "Annotator", "annotate"]

ANNOTATION_KINDS: tuple[str, ...] = AUTHORED_KINDS


class Annotator(Protocol):
    """A person writing an annotation: returns the text (Markdown, or TOML for tables), None to skip."""

    def write(self, kind: str, template: str, problem: str | None) -> str | None: ...


@dataclass
class AnnotationOutcome:
    session_id: str
    added: list[TurnRecord] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # kinds refused (or skipped)


def _voices(session_plan: dict[str, Any], turns: Sequence[TurnRecord]) -> list[str]:
    planned = [str(v) for v in session_plan.get("voices", []) if isinstance(v, str)]
    seen = [t.voice for t in turns if t.role == "voice" and t.meta.get("kind") != "ranking"]
    return list(dict.fromkeys([*planned, *seen]))


async def annotate(rt: Runtime, session_id: str, kinds: Sequence[str], *, host: str | None = None,
                   person: Annotator | None = None, intent: str | None = None, title: str | None = None,
                   observer: Observer | None = None) -> AnnotationOutcome:
    """Add a new version of each of ``kinds`` to a finished session, written by ``host`` (a voice) or
    ``person``; every attributed quote checked."""
    session = rt.archive.get_session(session_id)
    unknown = [k for k in kinds if k not in ANNOTATION_KINDS]
    if unknown:
        raise UsageError(f"cannot annotate {unknown[0]!r}: choose from {', '.join(ANNOTATION_KINDS)}")
    if (host is None) == (person is None):
        raise UsageError("an annotation is written by a voice (--host VOICE) or by you, not both")
    # One runner per session: the lease is held while the annotations are written (a second annotate,
    # or a resume, refuses naming this process); the session's status is given back at the end.
    rt.hold(session.id)
    if session.status == "running":  # left running by a process that is gone (a live one refused above)
        rt.release(session.id)
        raise UsageError(f"session {session.id} is still running (or was left running by a process that "
                         f"is gone: `symposia resume {session.id}`): annotate it once it has finished")
    try:
        outcome = await _annotate(rt, session, kinds, host=host, person=person, intent=intent, title=title,
                                  observer=observer)
    except BaseException:
        rt.finish(session.id, session.status)
        raise
    rt.finish(session.id, session.status)
    return outcome


async def _annotate(rt: Runtime, session: SessionRecord, kinds: Sequence[str], *, host: str | None,
                    person: Annotator | None, intent: str | None, title: str | None,
                    observer: Observer | None) -> AnnotationOutcome:
    obs = observer or NullObserver()
    plan = dict(session.plan)
    host_name = str((plan.get("host") or {}).get("name") or "Host") if isinstance(plan.get("host"), dict) else "Host"
    outcome = AnnotationOutcome(session.id)
    for kind in kinds:
        turns = current_turns(rt.archive.session_turns(session.id))
        voices = _voices(plan, turns)
        speakers = session_speakers(rt, turns, voices)
        names = {sp.voice: next((t.voice_name for t in turns if t.voice == sp.voice), sp.voice) for sp in speakers}
        version = 1 + sum(1 for t in turns if t.meta.get("annotation") and t.meta.get("kind") == kind
                          and t.result.ok)
        key = f"annotate:{kind}:v{version}"
        meta: dict[str, Any] = {"step": f"annotate-{kind}", "annotation": True, "version": version}
        heading = title if kind == "synthesis" else None
        if host is not None:
            voice = rt.catalog.voice(host)
            messages = authoring_messages(kind, title=session.title, context=plan.get("context"),
                                          transcript=record_text(turns, host_name), intent=intent, heading=heading)
            out = await draft_checked(rt, session.id, voice, messages,
                                      judge_with(kind, functools.partial(list, speakers), names, title=heading),
                                      system=authoring_system(), key=f"{key}:draft", obs=obs,
                                      meta={"kind": "draft", "step": meta["step"], "for": kind},
                                      label=f"annotating: {kind}")
            a, check, provider = out.accepted, out.check, voice.shortcut
            problem = out.problem
            if out.accepted_turn is not None:
                meta["draft_turn"] = out.accepted_turn.id
        else:
            assert person is not None
            a, check, problem = _from_person(person, kind, names, speakers, heading)
            provider = "human"
        if a is None or check is None or not check.ok:
            outcome.refused.append(kind)
            rt.record_host(session.id, "", kind=kind, step_key=f"{key}:refused", host_name=host_name, provider=provider,
                           meta={**meta, "refused": True},
                           error=ErrorInfo(kind="misquote" if problem else "unwritten",
                                           message=problem or "left unwritten"))
            obs.note(f"the {kind} was refused: {problem or 'left unwritten'}")
            continue
        a = with_sources(a, check)
        turn = rt.record_host(session.id, a.text, kind=kind, step_key=key, host_name=host_name, provider=provider,
                              meta={**a.meta, **meta, **check.to_meta(), "by": host or "person"})
        outcome.added.append(turn)
        obs.note(f"annotated: {kind} v{version}")
    return outcome


def _from_person(person: Annotator, kind: str, names: dict[str, str], speakers: Sequence[Speaker],
                 title: str | None) -> tuple[Authored | None, TextCheck | None, str | None]:
    problem: str | None = None
    template = person_template(kind, names)
    while True:
        text = person.write(kind, template, problem)
        if text is None:
            return None, None, problem
        try:
            a = authored_from_text(kind, text, title=title)
        except ValueError as exc:
            problem, template = f"- {exc}", text
            continue
        check = check_authored(a, speakers)
        if check.ok:
            return a, check, None
        problem, template = problems_text(check, names), text
