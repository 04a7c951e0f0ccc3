"""Key formulations: the quotable lines of each answer, every one a verbatim substring of the stored
answer (checked in code with :func:`symposia.text.locate`, typography aside).

Lines come from the answers themselves (bold spans, then short aphoristic sentences) or from a
non-participant voice asked to choose; a chosen line that is not in the cited voice's answer — a
paraphrase, a "fix", a merge — is rejected and reported, never shown.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from symposia import prompts
from symposia.dialogue.runtime import Runtime
from symposia.errors import SymposiaError
from symposia.records import Message, TurnRecord
from symposia.text import contains, locate

__all__ = [
    "Formulation",
    "FormulationChoice",
    "accept_choices",
    "choose_formulations",
    "extract_formulations",
    "formulation_rows",
    "parse_choices",
    "prepare",
]

_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)")
_EDGE = "*_ \t\"'\u201c\u201d\u2018\u2019"
_CONTRAST = re.compile(r"\bnot\b|\bbut\b|\u2014|--|\bIS\b|\bAS\b|\bis\b|\bbecomes?\b", re.IGNORECASE)


@dataclass(frozen=True)
class Formulation:
    voice: str
    quote: str
    turn_id: int | None
    how: Literal["bold", "aphorism", "chosen"]

    def to_dict(self) -> dict[str, Any]:
        return {"voice": self.voice, "quote": self.quote, "turn_id": self.turn_id, "how": self.how}


def _words(s: str) -> int:
    return len(re.findall(r"\w+", s))


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    """Shrink [a, b) past spaces, quote marks and emphasis markers at its edges."""
    while a < b and text[a] in _EDGE:
        a += 1
    while b > a and text[b - 1] in _EDGE:
        b -= 1
    return a, b


def _aphorism_score(s: str) -> float:
    n = _words(s)
    if not 4 <= n <= 18 or s.rstrip().endswith("?") or s.lstrip().startswith(("I ", "I'", "-", "#", ">")):
        return 0.0
    score = 1.0 + len(_CONTRAST.findall(s)) + (1.0 if n <= 10 else 0.0)
    return score


def extract_formulations(turn: TurnRecord, per_voice: int = 3) -> list[Formulation]:
    """Up to ``per_voice`` quotable lines of one answer: its bold spans first, then its most aphoristic
    short sentences. Each is an exact slice of the stored answer."""
    return list(_extracted(turn.voice, turn.result.text, turn.id, per_voice))


def prepare(turn: TurnRecord, per_voice: int = 3) -> None:
    """Find an answer's formulations ahead of the analysis (its warm-up calls this while a council runs)."""
    _extracted(turn.voice, turn.result.text, turn.id, per_voice)


@functools.lru_cache(maxsize=4096)
def _extracted(voice: str, text: str, turn_id: int | None, per_voice: int) -> tuple[Formulation, ...]:
    """:func:`extract_formulations` of one answer, made once (checking each line against the answer with
    the matcher is the cost)."""
    picked: list[tuple[int, int, Literal["bold", "aphorism"]]] = []

    def overlaps(a: int, b: int) -> bool:
        return any(a < y and x < b for x, y, _ in picked)

    for m in _BOLD.finditer(text):
        a, b = _trim(text, m.start(2), m.end(2))
        if 3 <= _words(text[a:b]) <= 40 and not text[a:b].rstrip().endswith(":") and not overlaps(a, b):
            picked.append((a, b, "bold"))
        if len(picked) >= per_voice:
            break
    if len(picked) < per_voice:
        scored = []
        for m in _SENTENCE.finditer(text):
            a, b = _trim(text, m.start(), m.end())
            score = _aphorism_score(text[a:b])
            if score > 0:
                scored.append((score, a, b))
        for _, a, b in sorted(scored, key=lambda t: (-t[0], t[1])):
            if len(picked) >= per_voice:
                break
            if not overlaps(a, b):
                picked.append((a, b, "aphorism"))
    out = []
    for a, b, how in sorted(picked):
        quote = text[a:b]
        if contains(text, quote):  # always true for a slice; kept as the invariant's guard
            out.append(Formulation(voice, quote, turn_id, how))
    return tuple(out)


def parse_choices(text: str) -> list[dict[str, str]]:
    """``[{voice, quote}]`` from a chooser's reply: a JSON array, or ``voice | quote`` lines."""
    start, end = text.find("["), text.rfind("]")
    if 0 <= start < end:
        try:
            data = json.loads(text[start:end + 1])
        except json.JSONDecodeError:
            data = None
        if isinstance(data, list):
            return [{"voice": str(d.get("voice", "")).strip(), "quote": str(d.get("quote", "")).strip()}
                    for d in data if isinstance(d, dict)]
    rows = []
    for line in text.splitlines():
        if "|" in line:
            voice, _, quote = line.partition("|")
            rows.append({"voice": voice.strip(" -*`"), "quote": quote.strip().strip('"\u201c\u201d')})
    return rows


@dataclass(frozen=True)
class FormulationChoice:
    accepted: tuple[Formulation, ...]
    rejected: tuple[dict[str, str], ...]  # {voice, quote, why}
    turn: TurnRecord | None = None  # the chooser's stored call


def accept_choices(rows: Sequence[dict[str, str]], turns: Sequence[TurnRecord]) -> FormulationChoice:
    """Keep a chosen line only if it is verbatim in an answer of the voice it is attributed to."""
    accepted: list[Formulation] = []
    rejected: list[dict[str, str]] = []
    for row in rows:
        voice, quote = row.get("voice", ""), row.get("quote", "")
        texts = {t.id: t.result.text for t in turns
                 if t.id is not None and t.role == "voice" and t.voice == voice and t.result.ok}
        if not quote.strip():
            rejected.append({"voice": voice, "quote": quote, "why": "empty"})
        elif not texts:
            rejected.append({"voice": voice, "quote": quote, "why": f"no answer of voice {voice!r}"})
        else:
            match = locate(quote, texts)
            if match is None:
                rejected.append({"voice": voice, "quote": quote, "why": "not verbatim in that voice's answers"})
            else:
                # store the words as they stand in the record, not as the chooser typed them
                accepted.append(Formulation(voice, match.span, match.turn_id, "chosen"))
    return FormulationChoice(tuple(accepted), tuple(rejected))


async def choose_formulations(rt: Runtime, chooser: str, turns: Sequence[TurnRecord], *, session_id: str,
                              per_voice: int = 2) -> FormulationChoice:
    """Ask a voice that did not answer in ``turns`` to choose formulations; store its call in an
    ``analysis`` session (so the analysed session is not touched) and accept only verbatim lines."""
    voice = rt.catalog.voice(chooser)
    answers = [t for t in turns if t.role == "voice" and t.result.ok and t.result.text.strip()]
    if any(t.voice == voice.shortcut for t in answers):
        raise SymposiaError(f"{voice.shortcut} answered in this session: choose formulations with a voice "
                            "that did not take part")
    t = prompts.load("analysis")
    body = "\n".join(t["formulations_answer"].format(voice=a.voice, text=a.result.text.strip()) for a in answers)
    request = rt.request_for(voice, [Message("user", t["formulations"].format(answers=body, per_voice=per_voice))],
                             system=str(t["formulations_system"]))
    analysis = rt.start_session("analysis", f"Key formulations of {session_id}",
                                plan={"kind": "analysis", "of": session_id, "chooser": voice.shortcut},
                                voices=[voice])
    turn = await rt.call(analysis.id, voice, request, role="chair", step_key="formulations",
                         meta={"kind": "formulations-choice", "of": session_id})
    rt.archive.set_session_status(analysis.id, "complete" if turn.result.ok else "failed")
    if not turn.result.ok:
        raise SymposiaError(f"{voice.name} could not choose formulations: "
                            f"{turn.result.error.message if turn.result.error else 'no answer'}")
    choice = accept_choices(parse_choices(turn.result.text), turns)
    return FormulationChoice(choice.accepted, choice.rejected, turn)


def formulation_rows(forms: Sequence[Formulation]) -> list[dict[str, Any]]:
    """Rows for a ``formulations`` host turn's ``meta["rows"]`` (the Key Formulations table)."""
    return [{"turn_id": f.turn_id, "voice": f.voice, "quote": f.quote} for f in forms]
