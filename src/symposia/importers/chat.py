"""Format C: a chat with one voice (``# Voices Chat: HOST <-> model``, ``## Round k`` sections), and its
JSON twin (``{"model", "rounds": [{"round", "prompt", "response", "usage"} | {..., "error": true}]}``).

Each answer's request holds the system prompt and the history before it (for long chats, the first
message and the latest ones: HISTORY_LIMIT), as the chat script
sent it. Known defects are repaired and flagged: a message sent line by line (rounds whose prompt
is a lone list item or ``---``) is merged back into one host message (``line_split``); an empty
response logged as a success with ``completion_tokens: 0`` is flagged ``zero_completion_tokens``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from symposia.importers.dates import FoundDate, find_date, parse_date_precise
from symposia.importers.markdown import (
    code_or_text,
    fields,
    number,
    sections_at,
    strip_md,
    strip_rules,
    title_and_head,
    unquote,
)
from symposia.importers.records import NO_DATE, ImportedSession, ImportedTurn, ImportError_, add_flag, history_window
from symposia.importers.speakers import Speaker, VoiceMapper
from symposia.records import ErrorInfo, Message, Usage


@dataclass
class _Round:
    number: int
    prompt: str
    response: str
    usage: Usage = field(default_factory=Usage)
    error: str | None = None


def detect(body: str) -> bool:
    return bool(re.search(r"^#\s+Voices Chat\b", body, re.MULTILINE))


def detect_json(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("rounds"), list) and "model" in data


def _usage(d: Any) -> Usage:
    if not isinstance(d, dict):
        return Usage()

    def num(key: str) -> int | None:
        v = d.get(key)
        return int(v) if isinstance(v, int | float) else None

    cost = d.get("cost")
    return Usage(prompt_tokens=num("prompt_tokens"), completion_tokens=num("completion_tokens"),
                 reasoning_tokens=num("reasoning_tokens"), cost=float(cost) if isinstance(cost, int | float) else None)


_ROUND_HEADING = re.compile(r"^##\s+Round\s+\d+\b")  # the only heading that starts a section: answers have their own
_TOKENS = re.compile(r"^\s*\*\[tokens:\s*(.*?)\]\*\s*$", re.MULTILINE)


def _is_fragment(prompt: str) -> bool:
    """A prompt that is one line of a message sent line by line: a lone list item or a rule."""
    p = prompt.strip()
    return "\n" not in p and bool(re.match(r"^(?:[-*+]\s+\S|\d+[.)]\s+\S|-{3,}$|\*{3,}$)", p))


def _build(session: ImportedSession, rounds: list[_Round], speaker: Speaker, host: str,
           system: str | None) -> None:
    """Turns from rounds: merges line-split messages back and records the history each voice saw."""
    groups: list[list[_Round]] = []
    for r in rounds:
        if groups and _is_fragment(r.prompt):
            groups[-1].append(r)
        else:
            groups.append([r])
    history: list[Message] = []
    for group in groups:
        split = len(group) > 1
        prompt = "\n".join(r.prompt for r in group)
        q = ImportedTurn(role="host", voice="host", voice_name=host, text=prompt, kind="question",
                         meta={"to": speaker.voice, "round": group[0].number})
        if split:
            q.meta["merged_rounds"] = [r.number for r in group]
            add_flag(q, "line_split")
        session.turns.append(q)
        for r in group:
            history.append(Message("user", r.prompt))
            turn = ImportedTurn(role="voice", voice=speaker.voice, voice_name=speaker.name, text=r.response,
                                messages=history_window(history)[0], system=system, model=speaker.model, usage=r.usage,
                                meta={"round": group[0].number, "file_round": r.number, **speaker.meta()})
            if split:
                add_flag(turn, "line_split")  # it answered one line of the message, not the message
            if r.error is not None:
                turn.error = ErrorInfo(kind="error", message=r.error or "the round failed")
                turn.text = ""
                add_flag(turn, "failed")
            elif not r.response.strip():
                add_flag(turn, "empty")
                if r.usage.completion_tokens == 0:
                    add_flag(turn, "zero_completion_tokens")
            session.turns.append(turn)
            history.append(Message("assistant", r.response))
    if any(len(g) > 1 for g in groups):
        session.flag("line_split")


def parse(body: str, *, filename: str, mapper: VoiceMapper, front: dict[str, Any]) -> ImportedSession:
    title, head = title_and_head(body)
    m = re.match(r"Voices Chat:\s*(.+?)\s*<->\s*(.+)$", title)
    host = m.group(1).strip() if m else "Host"
    f = fields("\n".join(head))
    model = code_or_text(f.get("Model", "")) or (m.group(2).strip() if m else "")
    speaker = mapper.resolve("" if "/" in model else model, model if "/" in model else "")
    found = find_date(front, head[1:], body, filename)
    system = f.get("System prompt") or None
    session = ImportedSession(format="chat", kind="chat", title=title or f"Chat with {speaker.name}",
                              created_at=found.when or NO_DATE, meta=found.meta())
    cost = number(f.get("Total cost"))
    if cost is not None:
        session.meta["total_cost"] = cost
    host_speaker = mapper.resolve(host)
    rounds: list[_Round] = []
    for sec in sections_at(body, _ROUND_HEADING):
        rm = re.match(r"Round\s+(\d+)", sec.heading or "")
        if not rm:
            continue
        text = strip_rules(sec.text)
        labels = list(re.finditer(r"^\*\*([^*\n]+?):\*\*[ \t]*", text, re.MULTILINE))
        if not labels:
            continue
        prompt_end = labels[1].start() if len(labels) > 1 else len(text)
        prompt = unquote(text[labels[0].end():prompt_end].strip("\n"))
        reply = text[labels[1].end():] if len(labels) > 1 else ""
        usage = Usage()
        tm = _TOKENS.search(reply)
        if tm:
            kv = dict(re.findall(r"(\w+)=\$?([\d.]+)", tm.group(1)))
            names = {"prompt": "prompt_tokens", "completion": "completion_tokens", "reasoning": "reasoning_tokens"}
            usage = _usage({names.get(k, k): float(v) if "." in v else int(v) for k, v in kv.items()})
            reply = reply[:tm.start()] + reply[tm.end():]
        reply = strip_rules(reply.strip("\n"))
        em = re.fullmatch(r"\s*\*\[?Error:?\s*(.*?)\]?\*\s*", reply, re.DOTALL)
        rounds.append(_Round(int(rm.group(1)), prompt.strip(), reply, usage, strip_md(em.group(1)) if em else None))
    if not rounds:
        raise ImportError_("a chat file without any '## Round k' section")
    session.plan = {"kind": "chat", "voices": [speaker.voice], "system": system,
                    "host": {"name": host, "mode": "llm" if host_speaker.mapped else "human",
                             **({"voice": host_speaker.voice} if host_speaker.mapped else {})}}
    _build(session, rounds, speaker, host, system)
    return session


def parse_json(data: dict[str, Any], *, filename: str, mapper: VoiceMapper) -> ImportedSession:
    model = str(data.get("model") or "")
    speaker = mapper.resolve(str(data.get("model_name") or ""), model)
    stamp, day = parse_date_precise(data.get("timestamp"))
    found = FoundDate(stamp, "json_timestamp", day) if stamp else find_date({}, [], "", filename)
    system = data.get("system_prompt") or None
    session = ImportedSession(format="chat", kind="chat", title=f"Chat with {speaker.name}",
                              created_at=found.when or NO_DATE, meta=found.meta())
    if isinstance(data.get("total_cost"), int | float):
        session.meta["total_cost"] = float(data["total_cost"])
    rounds: list[_Round] = []
    for i, r in enumerate(data.get("rounds") or [], 1):
        if not isinstance(r, dict):
            raise ImportError_(f"round {i} of the JSON is not an object")
        err = r.get("error")
        response = str(r.get("response") or "")
        message = None
        if err:
            message = str(r.get("error_message") or (err if isinstance(err, str) else "") or response or "failed")
            response = ""
        rounds.append(_Round(int(r.get("round") or i), str(r.get("prompt") or ""), response, _usage(r.get("usage")),
                             message))
    session.plan = {"kind": "chat", "voices": [speaker.voice], "system": system,
                    "host": {"name": "Host", "mode": "human"}}
    _build(session, rounds, speaker, "Host", system)
    return session
