"""Sessions running inside the server, and their streams as Server-Sent Events.

A :class:`LiveRun` is fed by :class:`WebObserver` (the orchestrators' Observer protocol) and keeps
two things: an append-only log of events (one per streamed chunk) and the state they add up to
(one panel per step: voice, text so far, status). A browser subscribes with ``EventSource``:

- a new subscriber first gets one ``snapshot`` event (everything streamed so far), then each new
  event as it happens;
- a reconnecting one (``Last-Event-ID``, which EventSource sends by itself) gets exactly the events
  it missed, so nothing is lost or doubled;
- the stream ends with an ``end`` event once the run has finished.

Everything runs on the server's event loop; an event from another thread is handed over with
``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from symposia.archive import turn_status
from symposia.catalog import Voice
from symposia.records import ReasoningChunk, Restart, TextChunk, TurnRecord, utcnow
from symposia.redact import redact
from symposia.web.sanitize import markdown_to_html

__all__ = ["KEEPALIVE_S", "POLL_S", "LiveRegistry", "LiveRun", "Panel", "WebObserver", "Work", "sse_format"]

KEEPALIVE_S = 15.0
MAX_RUNS = 100  # finished runs kept for late joiners; the oldest finished ones are dropped first
POLL_S = 0.5  # how often a watched session's archive is read for new calls


@dataclass
class Panel:
    """What one step (``r1:qwen``, ``chair``…) has streamed so far."""

    key: str
    voice: str
    name: str
    label: str
    text: str = ""
    reasoning: str = ""
    status: str = "streaming"  # streaming | ok | flagged | error
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "voice": self.voice, "name": self.name, "label": self.label, "text": self.text,
                "reasoning": self.reasoning, "status": self.status, **self.detail}


def _turn_detail(turn: TurnRecord) -> dict[str, Any]:
    res = turn.result
    return {
        "flags": list(res.flags),
        "error": redact(res.error.message or res.error.kind) if res.error is not None else None,
        "finish_reason": res.finish_reason,
        "cost": res.usage.cost,
        "latency_s": round(res.latency_s, 3),
        "turn_id": turn.id,
    }


class LiveRun:
    """One session started from the page: its event log, its panels, and who is waiting for news."""

    def __init__(self, run_id: str, kind: str, title: str) -> None:
        self.id = run_id
        self.kind = kind
        self.title = title
        self.started_at: datetime = utcnow()
        self.status = "running"  # running | complete | failed | interrupted
        self.session_id: str | None = None
        self.error: str | None = None
        self.panels: OrderedDict[str, Panel] = OrderedDict()
        self.notes: list[str] = []
        self.log: list[tuple[str, dict[str, Any]]] = []
        self._changed = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self.task: asyncio.Task[None] | None = None

    @property
    def finished(self) -> bool:
        return self.status != "running"

    # -- producing -------------------------------------------------------------------------------

    def publish(self, name: str, data: dict[str, Any]) -> None:
        """Apply an event to the state, append it to the log and wake the subscribers."""
        if threading.get_ident() != self._loop_thread:
            self._loop.call_soon_threadsafe(self.publish, name, data)
            return
        self._apply(name, data)
        self.log.append((name, data))
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _apply(self, name: str, data: dict[str, Any]) -> None:
        if name == "start":
            self.panels[data["key"]] = Panel(data["key"], data["voice"], data["name"], data["label"])
            return
        if name == "note":
            self.notes.append(data["text"])
            return
        if name == "end":
            self.status = data["status"]
            self.session_id = data.get("session_id") or self.session_id
            self.error = data.get("error")
            return
        panel = self.panels.get(data.get("key", ""))
        if panel is None:
            return
        if name == "chunk":
            panel.text += data["text"]
        elif name == "reasoning":
            panel.reasoning += data["text"]
        elif name == "restart":
            panel.text, panel.reasoning = "", ""
        elif name == "done":
            panel.status = data["status"]
            panel.detail = {k: v for k, v in data.items() if k not in ("key", "status", "text")}
            panel.text = data.get("text", panel.text)
            if data.get("session_id"):
                self.session_id = data["session_id"]

    def finish(self, status: str, error: str | None = None) -> None:
        self.publish("end", {"status": status, "session_id": self.session_id,
                             "error": redact(error) if error else None})

    def snapshot(self) -> dict[str, Any]:
        return {"kind": self.kind, "title": self.title, "status": self.status, "session_id": self.session_id,
                "error": self.error, "notes": list(self.notes), "panels": [p.to_dict() for p in self.panels.values()]}

    # -- consuming -------------------------------------------------------------------------------

    async def events(self, last_event_id: str | None = None,
                     keepalive_s: float = KEEPALIVE_S) -> AsyncIterator[str]:
        """The SSE stream for one subscriber (see the module docstring)."""
        yield "retry: 1000\n\n"
        resume = _parse_id(last_event_id, len(self.log))
        if resume is None:
            n = len(self.log)
            yield sse_format("snapshot", self.snapshot(), n - 1)
            pos = n
        else:
            pos = resume
        while True:
            changed = self._changed  # taken before reading the log: no event can slip in between
            while pos < len(self.log):
                name, data = self.log[pos]
                yield sse_format(name, data, pos)
                pos += 1
                if name == "end":
                    return
            if self.finished:
                return  # the snapshot (or an earlier connection) already carried the end
            try:
                await asyncio.wait_for(changed.wait(), timeout=keepalive_s)
            except TimeoutError:
                yield ": keep-alive\n\n"


def _parse_id(value: str | None, size: int) -> int | None:
    """The log position after ``Last-Event-ID``; None (send a snapshot) when absent or not ours."""
    if value is None or not value.strip():
        return None
    try:
        last = int(value.strip())
    except ValueError:
        return None
    return last + 1 if -1 <= last < size else None


def sse_format(name: str, data: dict[str, Any], event_id: int) -> str:
    """One SSE message; the JSON has no raw newline (json.dumps escapes them), so one data line."""
    return f"id: {event_id}\nevent: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


class WebObserver:
    """The Observer protocol, turned into events of a :class:`LiveRun`."""

    def __init__(self, run: LiveRun) -> None:
        self.run = run

    def note(self, text: str) -> None:
        self.run.publish("note", {"text": redact(text)})

    def turn_started(self, key: str, voice: Voice, label: str) -> None:
        self.run.publish("start", {"key": key, "voice": voice.shortcut, "name": voice.name, "label": label})

    def event(self, key: str, event: TextChunk | ReasoningChunk | Restart) -> None:
        if isinstance(event, TextChunk):
            self.run.publish("chunk", {"key": key, "text": event.text})
        elif isinstance(event, ReasoningChunk):
            self.run.publish("reasoning", {"key": key, "text": event.text})
        else:
            self.run.publish("restart", {"key": key, "reason": redact(event.reason), "attempt": event.attempt})

    def turn_finished(self, key: str, turn: TurnRecord) -> None:
        # The stored text is the truth (a step found already done streamed nothing).
        # ``html``: the answer's Markdown rendered and sanitised here (nh3 allow-list), as on the session
        # page; the browser inserts it as is, and falls back to the plain text while a panel streams.
        self.run.publish("done", {"key": key, "status": turn_status(turn), "text": turn.result.text,
                                  "html": str(markdown_to_html(redact(turn.result.text))),
                                  "session_id": turn.session_id, **_turn_detail(turn)})


Work = Callable[[WebObserver], Awaitable[tuple[str, str]]]
"""What a run does: given its observer, run a session; return (session id, final session status)."""


class LiveRegistry:
    """The runs this server started, by id; a bounded history so memory stays small."""

    def __init__(self, max_runs: int = MAX_RUNS) -> None:
        self._runs: OrderedDict[str, LiveRun] = OrderedDict()
        self._max = max_runs

    def get(self, run_id: str) -> LiveRun | None:
        return self._runs.get(run_id)

    def all(self) -> list[LiveRun]:
        return list(reversed(self._runs.values()))

    def for_session(self, session_id: str) -> LiveRun | None:
        return next((r for r in self._runs.values() if r.session_id == session_id), None)

    def start(self, kind: str, title: str, work: Work) -> LiveRun:
        """Start ``work`` as a task on the running loop; it returns the session id and its final status."""
        run = LiveRun(secrets.token_urlsafe(9), kind, title)
        self._runs[run.id] = run
        self._trim()

        async def body() -> None:
            try:
                sid, status = await work(WebObserver(run))
                run.session_id = sid
                run.finish(status)
            except asyncio.CancelledError:
                run.finish("interrupted", "the server stopped before the session ended")
                raise
            except Exception as exc:  # shown on the page; the record keeps what finished
                run.finish("failed", f"{type(exc).__name__}: {exc}")

        run.task = asyncio.create_task(body(), name=f"symposia-live-{run.id}")
        return run

    def watch(self, session_id: str, kind: str, title: str, archive: Any, poll_s: float = POLL_S) -> LiveRun:
        """Follow a session another process is running (e.g. a council started from the CLI) through
        the archive: each call appears as it lands, the run ends when the session stops running."""
        existing = self.for_session(session_id)
        if existing is not None and not existing.finished:
            return existing

        async def work(obs: WebObserver) -> tuple[str, str]:
            obs.run.session_id = session_id
            seen: set[int] = set()
            while True:
                # Status first, turns second: a session that ended between the two reads still shows
                # every turn it stored before ending.
                status = archive.get_session(session_id).status
                for turn in archive.session_turns(session_id):
                    if turn.id in seen:
                        continue
                    seen.add(turn.id)
                    key = turn.step_key or f"turn-{turn.id}"
                    obs.run.publish("start", {"key": key, "voice": turn.voice, "name": turn.voice_name,
                                              "label": key})
                    obs.turn_finished(key, turn)
                if status != "running":
                    return session_id, status
                await asyncio.sleep(poll_s)

        return self.start(kind, title, work)

    def _trim(self) -> None:
        while len(self._runs) > self._max:
            victim = next((rid for rid, r in self._runs.items() if r.finished), None)
            if victim is None:
                return
            del self._runs[victim]

    async def aclose(self) -> None:
        """Cancel the runs still going (the archive keeps their finished turns; resume them later)."""
        tasks = [r.task for r in self._runs.values() if r.task is not None and not r.task.done()]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
