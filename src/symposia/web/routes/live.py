"""Start an ``ask`` or a council from a form, and watch it live (Server-Sent Events).

The session runs as a task on the server's event loop through the same API as the CLI
(:meth:`Symposia.ask_async`, :func:`run_council`); a :class:`~symposia.web.live.WebObserver` feeds
the live page. Forms are POSTs carrying a CSRF token.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from symposia.api import Symposia
from symposia.catalog.status import all_statuses
from symposia.dialogue.arena import MODES as ARENA_MODES
from symposia.dialogue.arena import run_arena
from symposia.dialogue.council import CouncilPlan, run_council
from symposia.dialogue.plan import parse_plan
from symposia.dialogue.symposium import run_symposium
from symposia.errors import SymposiaError
from symposia.redact import redact
from symposia.web.live import LiveRun, WebObserver
from symposia.web.security import CSRF_COOKIE, CSRF_FIELD
from symposia.web.state import page, web_state

__all__ = ["FormProblem", "live_events", "live_index", "live_page", "new_page", "routes", "start_arena", "start_ask",
           "start_council", "start_symposium", "watch_session"]

MAX_ROUNDS = 10
MAX_ARENA_TURNS = 40


class FormProblem(Exception):
    """A field the user must fix; shown above the form."""


def _form_context(request: Request) -> dict[str, Any]:
    st = web_state(request)
    try:
        catalog = st.symposia().catalog
    except SymposiaError as exc:
        return {"config_error": redact(str(exc)), "voices": [], "presets": [], "usable": {}, "usable_names": [],
                "arena_modes": ARENA_MODES}
    usable = {s.voice: s for s in all_statuses(catalog)}
    return {"config_error": None, "voices": list(catalog.voices.values()), "presets": list(catalog.presets.values()),
            "usable": usable, "usable_names": [name for name, st in usable.items() if st.usable],
            "arena_modes": ARENA_MODES}


def _refuse_unusable(s: Symposia, shortcuts: list[str]) -> None:
    """A voice that cannot run (no key, no server, model missing) is refused before anything starts."""
    statuses = {st.voice: st for st in all_statuses(s.catalog)}
    bad = [f"{v} ({statuses[v].reason})" for v in shortcuts if v in statuses and not statuses[v].usable]
    if bad:
        raise FormProblem("not usable right now: " + "; ".join(bad))


def new_page(request: Request) -> Response:
    return page(request, "new.html", {**_form_context(request), "problem": None, "values": {}})


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _number(form: FormData, name: str, kind: type[int] | type[float], what: str) -> Any:
    raw = _text(form, name)
    if not raw:
        return None
    try:
        return kind(raw)
    except ValueError:
        raise FormProblem(f"{what} must be a number (not {raw!r})") from None


async def _checked_form(request: Request) -> FormData:
    form = await request.form()
    token = form.get(CSRF_FIELD)
    if not web_state(request).csrf.check(request.cookies.get(CSRF_COOKIE), token if isinstance(token, str) else None):
        raise PermissionError("the form's security token is missing or stale: reload the page and submit again")
    return form


async def _start(request: Request, mode: str) -> Response:
    try:
        form = await _checked_form(request)
    except PermissionError as exc:
        return page(request, "error.html", {"title": "Form rejected", "message": str(exc)}, status_code=403)
    st = web_state(request)
    values = {k: form.getlist(k) if k == "voices" else _text(form, k) for k in form}
    try:
        s = st.symposia()
        if mode in ("arena", "symposium"):
            run = (_start_arena if mode == "arena" else _start_symposium)(request, s, form)
        else:
            question = _text(form, "question")
            if not question:
                raise FormProblem("the question is empty")
            run = (_start_ask if mode == "ask" else _start_council)(request, s, form, question)
    except (FormProblem, SymposiaError) as exc:
        ctx = {**_form_context(request), "problem": redact(str(exc)), "values": values, "mode": mode}
        return page(request, "new.html", ctx, status_code=400)
    return RedirectResponse(f"/live/{run.id}", status_code=303)


def _start_ask(request: Request, s: Symposia, form: FormData, question: str) -> LiveRun:
    voice = s.catalog.voice(_text(form, "voice") or "")
    _refuse_unusable(s, [voice.shortcut])
    temperature = _number(form, "temperature", float, "temperature")
    max_tokens = _number(form, "max_tokens", int, "max tokens")
    system = _text(form, "system") or None

    async def work(obs: WebObserver) -> tuple[str, str]:
        obs.turn_started("ask", voice, "ask")
        turn = await s.ask_async(voice.shortcut, question, system=system, temperature=temperature,
                                 max_tokens=max_tokens, on_event=lambda ev: obs.event("ask", ev))
        obs.turn_finished("ask", turn)
        return turn.session_id, "complete" if turn.result.ok else "failed"

    return web_state(request).live.start("ask", " ".join(question.split())[:80], work)


def _start_council(request: Request, s: Symposia, form: FormData, question: str) -> LiveRun:
    names: list[str] = []
    preset = _text(form, "preset") or None
    if preset:
        names += list(s.catalog.preset(preset).voices)
    names += [v for v in form.getlist("voices") if isinstance(v, str) and v.strip()]
    extra = _text(form, "more_voices")
    names += [n.strip() for n in extra.split(",") if n.strip()]
    resolved = list(dict.fromkeys(s.catalog.voice(n).shortcut for n in names))
    if not resolved:
        raise FormProblem("name the voices: choose a preset or tick at least one voice")
    _refuse_unusable(s, resolved)
    rounds = _number(form, "rounds", int, "rounds") or 1
    if not 1 <= rounds <= MAX_ROUNDS:
        raise FormProblem(f"rounds must be between 1 and {MAX_ROUNDS} (not {rounds})")
    chair_name = _text(form, "chair")
    chair = s.catalog.voice(chair_name).shortcut if chair_name else None
    max_cost = _number(form, "max_cost", float, "max cost")
    plan = CouncilPlan(question=question, voices=tuple(resolved), rounds=rounds, chair=chair,
                       rank=form.get("rank") == "1", system=_text(form, "system") or None,
                       temperature=_number(form, "temperature", float, "temperature"),
                       max_tokens=_number(form, "max_tokens", int, "max tokens"), max_cost=max_cost, preset=preset)

    async def work(obs: WebObserver) -> tuple[str, str]:
        outcome = await run_council(s.runtime, plan, observer=obs)
        return outcome.session_id, outcome.status

    return web_state(request).live.start("council", " ".join(question.split())[:80], work)


def _start_arena(request: Request, s: Symposia, form: FormData) -> LiveRun:
    topic = _text(form, "topic")
    if not topic:
        raise FormProblem("the topic is empty")
    a, b = (s.catalog.voice(_text(form, k) or "").shortcut for k in ("voice_a", "voice_b"))
    _refuse_unusable(s, [a, b])
    turns = _number(form, "turns", int, "turns") or 6
    if not 1 <= turns <= MAX_ARENA_TURNS:
        raise FormProblem(f"turns must be between 1 and {MAX_ARENA_TURNS} (not {turns})")
    mode = _text(form, "mode") or "free"

    async def work(obs: WebObserver) -> tuple[str, str]:
        sid = await run_arena(s.runtime, a, b, topic, mode, turns, observer=obs)
        return sid, s.archive.get_session(sid).status

    return web_state(request).live.start("arena", " ".join(topic.split())[:80], work)


def _start_symposium(request: Request, s: Symposia, form: FormData) -> LiveRun:
    text = _text(form, "plan")
    if not text:
        raise FormProblem("paste a symposium plan (TOML; see docs/SYMPOSIUM.md)")
    plan = parse_plan(text)
    if plan.host.mode == "human":
        raise FormProblem('a plan whose host is a person (mode = "human") runs in the terminal: '
                          "`symposia symposium plan.toml`; use mode \"plan\" or \"llm\" here")
    _refuse_unusable(s, [s.catalog.voice(v).shortcut for v in plan.voice_names()])

    async def work(obs: WebObserver) -> tuple[str, str]:
        outcome = await run_symposium(s.runtime, plan, observer=obs)
        return outcome.session_id, outcome.status

    return web_state(request).live.start("symposium", plan.title, work)


async def start_arena(request: Request) -> Response:
    return await _start(request, "arena")


async def start_symposium(request: Request) -> Response:
    return await _start(request, "symposium")


async def start_ask(request: Request) -> Response:
    return await _start(request, "ask")


async def start_council(request: Request) -> Response:
    return await _start(request, "council")


async def live_index(request: Request) -> Response:
    st = web_state(request)
    started_here = {r.session_id for r in st.live.all() if r.session_id}
    elsewhere = [s for s in st.archive.list_sessions(limit=200) if s.status == "running"
                 and s.id not in started_here]
    return page(request, "live_index.html", {"runs": st.live.all(), "elsewhere": elsewhere})


async def watch_session(request: Request) -> Response:
    """Watch a session started elsewhere (the CLI, another machine on a shared archive) as calls land."""
    st = web_state(request)
    try:
        session = st.archive.get_session(request.path_params["session_id"])
    except SymposiaError as exc:
        return page(request, "error.html", {"title": "No such session", "message": redact(str(exc))},
                    status_code=404)
    run = st.live.for_session(session.id)
    if run is None:
        run = st.live.watch(session.id, session.kind, session.title, st.archive)
    return RedirectResponse(f"/live/{run.id}", status_code=303)


async def live_page(request: Request) -> Response:
    run = web_state(request).live.get(request.path_params["run_id"])
    if run is None:
        return page(request, "error.html", {
            "title": "No such live session",
            "message": "This server has no running session with that id (it may have been restarted). "
                       "Finished sessions are in the archive."}, status_code=404)
    return page(request, "live.html", {"run": run})


async def live_events(request: Request) -> Response:
    run = web_state(request).live.get(request.path_params["run_id"])
    if run is None:
        return Response("no such live session\n", status_code=404, media_type="text/plain")
    stream = run.events(request.headers.get("last-event-id"))
    return StreamingResponse(stream, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


routes = [
    Route("/new", new_page, name="new"),
    Route("/new/ask", start_ask, methods=["POST"], name="start_ask"),
    Route("/new/council", start_council, methods=["POST"], name="start_council"),
    Route("/new/arena", start_arena, methods=["POST"], name="start_arena"),
    Route("/new/symposium", start_symposium, methods=["POST"], name="start_symposium"),
    Route("/live", live_index, name="live_index"),
    Route("/live/session/{session_id}", watch_session, name="watch_session"),
    Route("/live/{run_id}", live_page, name="live"),
    Route("/live/{run_id}/events", live_events, name="live_events"),
]
