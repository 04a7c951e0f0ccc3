"""What each voice is shown, decided from a frozen snapshot of the session (pure, no I/O).

Rules, for every mode:

- the voice's own earlier answers reach it as ``assistant`` messages; everything else reaches it
  as ``user`` text;
- failed turns (``result.ok`` False) and turns with empty text are never shown to anyone;
- consecutive messages of one role are merged (blank line between), the first message is ``user``
  and the last one ends with the question, so strictly alternating APIs accept the list.

``sees`` chooses how much of the session it sees:

- ``blind``: exactly one user message, the question;
- ``thread``: its own exchanges with the host so far — each question it answered (the host's
  question turn addressed to it, or failing that the last message it was sent) and its answer —
  then the question; the host speaks unattributed, as the user of the thread;
- ``all``: the whole session so far, in order, others attributed ("[Grok 4.1]: …",
  "[Claude Opus 4.5 (host)]: …"), its own answers as assistant messages; the final question is
  attributed to the host too, since it follows other speakers' text.

A host question addressed to the voice that it has not (successfully) answered yet is the pending
question, so it is skipped: the snapshot may or may not already hold the current question's turn.
The wording lives in ``prompts/dialogue.toml``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from symposia import prompts
from symposia.records import Message, Role, TurnRecord
from symposia.text import normalize

__all__ = [
    "EXCERPT_MIN_WORDS",
    "council_round_messages",
    "estimate_tokens",
    "merge_messages",
    "messages_for",
    "visibility_proof",
]

Sees = Literal["blind", "thread", "all"]
CHARS_PER_TOKEN = 4
# visibility_proof reports a shared run of at least this many words as an excerpt.
EXCERPT_MIN_WORDS = 5


def _templates() -> dict[str, Any]:
    return prompts.load("dialogue")


def _shown(turn: TurnRecord) -> bool:
    return turn.result.ok and bool(turn.result.text.strip())


def _addressed_to(turn: TurnRecord, voice: str) -> bool:
    if turn.role != "host" or turn.meta.get("kind") != "question":
        return False
    to = turn.meta.get("to")
    return to == voice or to == "*" or (isinstance(to, list) and voice in to)


def merge_messages(messages: Sequence[Message]) -> list[Message]:
    """Merge consecutive messages of one role (blank line between), for strictly alternating APIs."""
    out: list[Message] = []
    for m in messages:
        if out and out[-1].role == m.role:
            out[-1] = Message(m.role, out[-1].content + "\n\n" + m.content)
        else:
            out.append(m)
    return out


def _ordered(snapshot: Sequence[TurnRecord]) -> list[TurnRecord]:
    return sorted(snapshot, key=lambda t: t.seq)


def _answered_questions(turns: list[TurnRecord], voice: str) -> dict[int, TurnRecord]:
    """For each of the voice's shown answers (by seq): the host question it answered, if recorded."""
    out: dict[int, TurnRecord] = {}
    pending: TurnRecord | None = None
    for t in turns:
        if _addressed_to(t, voice) and t.result.ok:
            pending = t
        elif t.role == "voice" and t.voice == voice and _shown(t):
            if pending is not None:
                out[t.seq] = pending
            pending = None
    return out


def _last_user(turn: TurnRecord) -> str | None:
    msgs = turn.request.messages
    return msgs[-1].content if msgs and msgs[-1].role == "user" else None


def _attributed(turn: TurnRecord, host_name: str) -> str:
    t = _templates()["attribution"]
    if turn.role == "host":
        return str(t["host"]).format(name=host_name, text=turn.result.text)
    if turn.role == "chair":
        return str(t["chair"]).format(name=turn.voice_name, text=turn.result.text)
    return str(t["voice"]).format(name=turn.voice_name, text=turn.result.text)


def messages_for(voice: str, voice_name: str, question: str, snapshot: Sequence[TurnRecord],
                 sees: Sees, host_name: str) -> list[Message]:
    """The exact messages ``voice`` is sent for ``question``, given what is recorded so far."""
    if sees not in ("blind", "thread", "all"):
        raise ValueError(f"invalid value for sees, expected 'blind', 'thread' or 'all' (not {sees!r})")
    if sees == "blind":
        return [Message("user", question)]
    turns = _ordered(snapshot)
    answered = _answered_questions(turns, voice)
    answered_ids = {id(q) for q in answered.values()}
    msgs: list[Message] = []
    if sees == "thread":
        for t in turns:
            if t.role == "voice" and t.voice == voice and _shown(t):
                q = answered.get(t.seq)
                asked = q.result.text if q is not None else _last_user(t)
                if asked:
                    msgs.append(Message("user", asked))
                msgs.append(Message("assistant", t.result.text))
        msgs.append(Message("user", question))
    else:
        for t in turns:
            if not _shown(t):
                continue
            if t.role == "voice" and t.voice == voice:
                msgs.append(Message("assistant", t.result.text))
            elif _addressed_to(t, voice) and id(t) not in answered_ids:
                continue  # the pending question: it comes last, below
            else:
                msgs.append(Message("user", _attributed(t, host_name)))
        ask = str(_templates()["attribution"]["host"]).format(name=host_name, text=question)
        msgs.append(Message("user", ask))
    merged = merge_messages(msgs)
    if merged[0].role != "user":
        merged.insert(0, Message("user", str(_templates()["attribution"]["opening"])))
    return merged


# -- council rounds --------------------------------------------------------------------------------


def estimate_tokens(text: str) -> int:
    """A provider-free estimate: about four characters per token."""
    return -(-len(text) // CHARS_PER_TOKEN)


def _cut(text: str, limit: int, marker: str) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + marker


def _cap(lengths: list[int], available: int, marker_len: int) -> int | None:
    """The largest per-answer length L with sum(min(len, L) [+ marker if cut]) <= available."""

    def cost(cap: int) -> int:
        return sum(n if n <= cap else cap + marker_len for n in lengths)

    if cost(max(lengths, default=0)) <= available:
        return None
    lo, hi = 0, max(lengths)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if cost(mid) <= available:
            lo = mid
        else:
            hi = mid - 1
    return lo


def council_round_messages(voice: str, question: str, previous_round: Sequence[TurnRecord],
                           names: Mapping[str, str], token_budget: int) -> list[Message]:
    """What ``voice`` sees in a council round >= 2: the question, its own previous answer, the others'.

    Voices that failed (or answered nothing) in the previous round are left out. When the whole
    exceeds ``token_budget`` (estimated at four characters a token), the longest answers are cut
    first, each ending with a visible "[…]", until it fits; if even the fixed wording does not fit,
    every answer is reduced to the marker alone.
    """
    t = _templates()
    name = names.get(voice, voice)
    answers = [p for p in _ordered(previous_round) if p.role == "voice" and _shown(p)]
    own = next((p for p in answers if p.voice == voice), None)
    others = [p for p in answers if p.voice != voice]

    texts = ([own.result.text] if own else []) + [p.result.text for p in others]
    labels = [names.get(p.voice, p.voice_name) for p in others]
    marker = str(t["council"]["trimmed"])

    def build(bodies: list[str]) -> list[Message]:
        own_body, other_bodies = (bodies[0], bodies[1:]) if own else (None, bodies)
        intro_key = "intro" if others else "no_others"
        parts = [str(t["council"][intro_key]).format(name=name)]
        parts += [str(t["attribution"]["voice"]).format(name=label, text=body)
                  for label, body in zip(labels, other_bodies, strict=True)]
        parts.append(str(t["council"]["instruction"]).format(name=name, question=question))
        msgs = [Message("user", question)]
        if own_body is not None:
            msgs.append(Message("assistant", own_body))
        msgs.append(Message("user", "\n\n".join(parts)))
        return merge_messages(msgs)

    full = build(texts)
    total = sum(len(m.content) for m in full)
    budget_chars = token_budget * CHARS_PER_TOKEN
    if total <= budget_chars:
        return full
    fixed = total - sum(len(x) for x in texts)
    cap = _cap([len(x) for x in texts], max(0, budget_chars - fixed), len(marker))
    if cap is None:
        return full
    return build([_cut(x, cap, marker) if cap > 0 else marker.strip() for x in texts])


# -- proof of visibility ---------------------------------------------------------------------------

_WORD = re.compile(r"\w+(?:'\w+)*")


def _words(text: str) -> list[re.Match[str]]:
    return list(_WORD.finditer(text.replace("\u2019", "'")))


def visibility_proof(request_messages: Sequence[Message], snapshot: Sequence[TurnRecord],
                     voice: str) -> dict[str, Any]:
    """Which recorded turns' text appears in what ``voice`` was sent (a stored request's messages).

    Returns ``own`` / ``shown``: ids of the voice's own / other turns whose whole answer appears;
    ``excerpts``: {turn id: [spans]} for other turns of which only runs of at least
    ``EXCERPT_MIN_WORDS`` consecutive words (same case, punctuation between words ignored) appear
    — a relayed quote, or an echo of a phrase the host repeated; ``voices_seen``: the other voices
    with any text shown. ``roles`` records what each message was (user/assistant).
    """
    seen = "\n\n".join(m.content for m in request_messages)
    seen_norm = normalize(seen)
    seen_words = [w.group() for w in _words(seen)]
    n = EXCERPT_MIN_WORDS
    grams = {tuple(seen_words[i:i + n]) for i in range(len(seen_words) - n + 1)}

    own: list[int] = []
    shown: list[int] = []
    excerpts: dict[int, list[str]] = {}
    voices_seen: set[str] = set()
    for t in _ordered(snapshot):
        if t.id is None or not _shown(t):
            continue
        mine = t.role == "voice" and t.voice == voice
        if normalize(t.result.text) in seen_norm:
            (own if mine else shown).append(t.id)
            if not mine and t.role == "voice":
                voices_seen.add(t.voice)
            continue
        if mine or t.role == "host":
            continue  # the host's own words are not a relay: only whole host turns are reported
        words = _words(t.result.text)
        hits = [i for i in range(len(words) - n + 1)
                if tuple(w.group() for w in words[i:i + n]) in grams]
        spans: list[str] = []
        run_start: int | None = None
        run_end = -1
        for i in [*hits, None]:
            if i is not None and run_start is not None and i <= run_end + 1:
                run_end = i + n - 1
                continue
            if run_start is not None:
                spans.append(t.result.text[words[run_start].start():words[run_end].end()])
            if i is not None:
                run_start, run_end = i, i + n - 1
        if spans:
            excerpts[t.id] = spans
            if t.role == "voice":
                voices_seen.add(t.voice)
    roles: list[Role] = [m.role for m in request_messages]
    return {"voice": voice, "own": own, "shown": shown, "excerpts": excerpts,
            "voices_seen": sorted(voices_seen), "roles": roles}
