"""Attributed quotes in host text: whom a quote is credited to, and whether that voice said it.

Everything a host writes — a question, an observation, a chair's synthesis, a key formulation, a
synthesis row, a "what the dialogue revealed" item, a closing — goes through :func:`check_host_text`
(free text) or :func:`check_row` (a table row that names its voice). Each quoted span gets a verdict:

- ``verbatim``: the voice it is credited to said it, in this session (typography aside);
- ``near_miss``: credited to a voice of the session, close to something it said, but not its words
  (a changed word, a dropped clause, words swapped) — **refused**;
- ``reversed``: a near miss that says not what the voice said (a negation added or dropped) — **refused**;
- ``invented``: credited to a voice of the session that said nothing like it (or never answered, or
  is not in the session at all when a chair credits it) — **refused**;
- ``outside``: credited to no voice of the session and like nothing in it (the host's own prayer,
  an earlier symposium, a book) — allowed, and marked as an outside source wherever it is shown.

A quote is *credited* to a voice when the text names it (:func:`symposia.text.quotations`: "Qwen
said '…'", "'…' — Grok"), or when the voice's name comes shortly before it with a speech cue
("Grok's rigor: '…'", "when I asked Grok, they said '…'"). A quote credited to nobody that is
verbatim in some answer is a verified relay of that answer; one that is a near miss of some answer
is refused too.

:func:`verbatim_in` is the one place that decides "are these the voice's words": the provenance
matcher (:func:`symposia.text.locate`) — Markdown as a reader sees it, typography and case folded,
so Qwen's "not *on* the altar, but *as* the altar" is quoted verbatim by "not ON the altar, but AS
the altar", while a changed word is not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from symposia.records import TurnRecord
from symposia.text import Quotation, closest_span, locate, normalize, quotations, reverses, sentence_spans

__all__ = [
    "NEAR_MISS_RATIO",
    "UNATTRIBUTED_NEAR_MISS_RATIO",
    "QuoteFinding",
    "Speaker",
    "TextCheck",
    "Verdict",
    "check_host_text",
    "check_row",
    "problems_text",
    "speakers_from_turns",
    "verbatim_in",
]

Verdict = Literal["verbatim", "near_miss", "reversed", "invented", "outside"]
REFUSED: frozenset[str] = frozenset({"near_miss", "reversed", "invented"})

# A credited quote at least this similar (ignoring case and typography) to a span of the voice's
# words is a near miss; below it, invented.
NEAR_MISS_RATIO = 0.6
# A quote credited to nobody is refused only when it is this close to a session answer (closer
# than an outside source plausibly is by chance).
UNATTRIBUTED_NEAR_MISS_RATIO = 0.88
_CUE_WINDOW = 60  # characters between a name and the quote it credits
_CUE = re.compile(
    r"(?:\b(?:said|says|say|wrote|written|writes|write|responded|responds|replied|replies|answered|"
    r"answers|called|calls|named|names|told|tells|put it|puts it|offered|offers|insisted|warned|"
    r"argued|observed|noted|declared|whispered|asked|asks)\b|:|\u2014|'s\b|\u2019s\b)",
    re.IGNORECASE)
_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I've|my|me)\b")
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)|\n\s*\n")


@dataclass(frozen=True)
class Speaker:
    """A voice of the session: the names it goes by and its answers (turn id -> text)."""

    voice: str
    names: tuple[str, ...]
    texts: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class QuoteFinding:
    quote: str
    verdict: Verdict
    voice: str | None = None  # the voice it is credited to (or, for a verified relay, found in)
    credited: bool = False  # named in the text (or the row), not only found by matching
    turn_id: int | None = None  # where it was found (verbatim) or its closest span (near miss)
    closest: str | None = None
    ratio: float = 0.0
    stranger: str | None = None  # credited to a voice that was not in the session: its name

    @property
    def refused(self) -> bool:
        return self.verdict in REFUSED

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in {
            "quote": self.quote, "verdict": self.verdict, "voice": self.voice, "credited": self.credited,
            "turn_id": self.turn_id, "closest": self.closest,
            "ratio": self.ratio if self.verdict in ("near_miss", "reversed") else None, "stranger": self.stranger,
        }.items() if v is not None}


@dataclass(frozen=True)
class TextCheck:
    findings: tuple[QuoteFinding, ...] = ()
    problems: tuple[str, ...] = ()  # refusals that are not about one quote (a row's voice never answered)

    @property
    def refused(self) -> tuple[QuoteFinding, ...]:
        return tuple(f for f in self.findings if f.refused)

    @property
    def outside(self) -> tuple[str, ...]:
        return tuple(f.quote for f in self.findings if f.verdict == "outside")

    @property
    def ok(self) -> bool:
        return not self.refused and not self.problems

    def relayed(self) -> dict[str, int]:
        """quote -> id of the answer it was found in."""
        return {f.quote: f.turn_id for f in self.findings if f.verdict == "verbatim" and f.turn_id is not None}

    def __add__(self, other: TextCheck) -> TextCheck:
        return TextCheck(self.findings + other.findings, self.problems + other.problems)

    def to_meta(self) -> dict[str, Any]:
        """What a host turn stores about its quotes (the renderer marks outside sources from it)."""
        return {"quotes": [f.to_dict() for f in self.findings], "relayed": self.relayed(),
                "outside": list(self.outside), "problems": list(self.problems)}


# -- the matcher -----------------------------------------------------------------------------------

def verbatim_in(quote: str, texts: Mapping[int, str]) -> tuple[int, str] | None:
    """The one place that decides whether ``quote`` is someone's words: (turn id, recorded span) of its
    first occurrence in ``texts``, or None. Typography may differ; words may not."""
    match = locate(quote, texts)
    return (match.turn_id, match.span) if match is not None else None


def _judge(quote: str, speaker: Speaker, credited: bool) -> QuoteFinding:
    found = verbatim_in(quote, speaker.texts)
    if found is not None:
        return QuoteFinding(quote, "verbatim", speaker.voice, credited, found[0], found[1], 1.0)
    near = closest_span(quote, speaker.texts, NEAR_MISS_RATIO) if speaker.texts else None
    if near is not None:
        verdict: Verdict = "reversed" if reverses(normalize(quote), normalize(near[1])) else "near_miss"
        return QuoteFinding(quote, verdict, speaker.voice, credited, near[0],
                            _sentence_of(speaker.texts[near[0]], near[1]), near[2])
    return QuoteFinding(quote, "invented", speaker.voice, credited)


def _sentence_of(text: str, span: str, limit: int = 320) -> str:
    """The sentence(s) of ``text`` around ``span``: the real words, whole, for a redraft."""
    at = text.find(span)
    if at < 0:
        return span
    end = at + len(span)
    covering = [(a, b) for a, b in sentence_spans(text, min_words=1, max_words=80) if a < end and b > at]
    if not covering:
        return span
    a, b = covering[0][0], covering[-1][1]
    whole = text[a:b].strip().strip("*_").strip()
    return whole if len(whole) <= limit else span


def _unattributed(quote: str, speakers: Sequence[Speaker]) -> QuoteFinding:
    for sp in speakers:
        found = verbatim_in(quote, sp.texts)
        if found is not None:
            return QuoteFinding(quote, "verbatim", sp.voice, False, found[0], found[1], 1.0)
    best: QuoteFinding | None = None
    for sp in speakers:
        near = closest_span(quote, sp.texts, UNATTRIBUTED_NEAR_MISS_RATIO) if sp.texts else None
        if near is not None and (best is None or near[2] > best.ratio):
            best = QuoteFinding(quote, "near_miss", sp.voice, False, near[0], near[1], near[2])
    return best or QuoteFinding(quote, "outside")


# -- who a quote is credited to -----------------------------------------------------------------------

def _name_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    alts = sorted({n for n in names if n.strip()}, key=len, reverse=True)
    if not alts:
        return None
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(a) for a in alts) + r")(?![\w-])")


def _named(name: str, people: Sequence[Speaker]) -> Speaker | None:
    key = name.casefold()
    for sp in people:
        if any(n.casefold() == key for n in sp.names):
            return sp
    return None


def _credited(text: str, q: Quotation, people: Sequence[Speaker]) -> Speaker | None:
    """The speaker a quote is credited to: named by the matcher's attribution, else named just before
    it with a speech cue, or just after it."""
    if q.attribution is not None and q.attribution != "self":
        sp = _named(q.attribution, people)
        # a name after the quote counts only on its line ("'…' — Grok"), not a list item below it
        if sp is not None and (q.attribution in text[max(0, q.start - 130):q.start]
                               or q.attribution in text[q.end:q.end + 60].split("\n", 1)[0]):
            return sp
    if q.attribution == "self":
        return None
    return _cue_credit(text, q.start, q.end, people)


def _cue_credit(text: str, start: int, end: int, people: Sequence[Speaker]) -> Speaker | None:
    before = text[max(0, start - 1 - _CUE_WINDOW):max(0, start - 1)]
    best: tuple[int, Speaker] | None = None
    for sp in people:
        pat = _name_pattern(sp.names)
        if pat is None:
            continue
        for m in pat.finditer(before):
            between = before[m.end():]
            if (_SENTENCE_END.search(between) or not _CUE.search(between)
                    or _FIRST_PERSON.search(between) or between.count(")") > between.count("(")
                    or re.search(r"[\"\u201c\u201d]", between)):
                continue
            if best is None or m.end() > best[0]:
                best = (m.end(), sp)
    if best is not None:
        return best[1]
    after = text[end + 1:end + 1 + 40]
    for sp in people:
        pat = _name_pattern(sp.names)
        if pat is None:
            continue
        named = pat.match(after.lstrip(" \t*_").lstrip("(\u2014\u2013-").lstrip(" \t*_"))
        if named is not None and re.match(r"\s*[*_]*\s*[(\u2014\u2013-]", after):
            return sp
    return None


_WORD = re.compile(r"\w+(?:['\u2019]\w+)*")
MIN_WORDS = 3


def _quotes(text: str) -> list[Quotation]:
    """The quotations of ``text`` a check judges: spans in quotation marks of three words or more (a
    quote nested in a longer one is part of it), and blockquotes the text credits to someone."""
    out: list[Quotation] = []
    for q in quotations(text):
        if q.kind == "blockquote" and q.attribution in (None, "self"):
            continue
        if q.kind == "marks" and len(_WORD.findall(q.text)) < MIN_WORDS:
            continue
        if out and q.start < out[-1].end:
            continue
        out.append(q)
    return out


def check_host_text(text: str, speakers: Sequence[Speaker], *,
                    strangers: Sequence[Speaker] = ()) -> TextCheck:
    """Every quote in ``text`` judged against the session's speakers.

    ``strangers`` are voices that are not in the session but may be named (the rest of the catalog,
    for a chair): a quote credited to one of them is ``invented`` — it was not in the room.
    """
    findings: list[QuoteFinding] = []
    for q in _quotes(text):
        quote = q.text
        who = _credited(text, q, [*speakers, *strangers])
        if who is None:
            findings.append(_unattributed(quote, speakers))
        elif who in strangers:
            named = next((n for n in who.names if n and n[0].isupper()), who.voice)
            findings.append(QuoteFinding(quote, "invented", who.voice, True, stranger=named))
        else:
            findings.append(_judge(quote, who, True))
    return TextCheck(tuple(findings))


def check_row(voice: str, formulation: str, speakers: Sequence[Speaker]) -> TextCheck:
    """A table row that credits ``formulation`` to ``voice``: its quoted spans — or, with no quotation
    marks, the whole formulation — must be that voice's words; a voice that never answered is refused."""
    sp = next((s for s in speakers if s.voice == voice), None)
    if sp is None or not sp.texts:
        return TextCheck(problems=(f"{voice} never answered in this session, so no row can credit it",))
    spans = [q.text for q in _quotes(formulation)]
    if not spans:
        bare = formulation.strip().strip("*_").strip()
        spans = [bare.strip("\"'\u201c\u201d\u2018\u2019").strip()] if bare else []
    return TextCheck(tuple(_judge(q, sp, True) for q in spans))


def problems_text(check: TextCheck, names: Mapping[str, str]) -> str:
    """The refusals of ``check`` as lines a host (or a person) can act on: each misquote beside the
    real words."""
    lines: list[str] = list(f"- {p}" for p in check.problems)
    for f in check.refused:
        who = names.get(f.voice or "", f.voice or "a voice")
        if f.stranger is not None:
            lines.append(f'- you credited "{f.quote}" to {f.stranger}, who was not in this session')
        elif f.verdict == "near_miss":
            lines.append(f'- you wrote "{f.quote}"; {who} said "{f.closest}"')
        elif f.verdict == "reversed":
            lines.append(f'- you wrote "{f.quote}", the reverse of what {who} said: "{f.closest}"')
        else:
            lines.append(f'- you wrote "{f.quote}", credited to {who}; {who} said nothing like it here')
    return "\n".join(lines)


def speakers_from_turns(turns: Sequence[TurnRecord], *, names: Mapping[str, Sequence[str]] | None = None,
                        extra: Mapping[str, Mapping[int, str]] | None = None,
                        voices: Sequence[str] = ()) -> list[Speaker]:
    """The session's speakers from its record: each voice's successful answers (chair syntheses and
    host turns are not a voice's words). ``names`` adds names a voice goes by (catalog name, family),
    ``extra`` adds texts (a voice's earlier answers elsewhere in the archive), ``voices`` lists
    voices of the session that may not have answered yet."""
    texts: dict[str, dict[int, str]] = {v: {} for v in voices}
    all_names: dict[str, set[str]] = {v: set() for v in voices}
    for t in turns:
        if t.role != "voice" or t.id is None:
            continue
        kind = t.meta.get("kind")
        if kind in ("ranking", "draft"):
            continue
        all_names.setdefault(t.voice, set()).update({t.voice_name, t.voice_name.split(" ")[0]})
        fam = t.meta.get("family")
        if isinstance(fam, str) and fam:
            all_names[t.voice].add(fam)
        if t.result.ok and t.result.text.strip():
            texts.setdefault(t.voice, {})[t.id] = t.result.text
    for v, ns in (names or {}).items():
        all_names.setdefault(v, set()).update(ns)
    for v, more in (extra or {}).items():
        texts.setdefault(v, {}).update(more)
    out = []
    for v in dict.fromkeys([*voices, *all_names, *texts]):
        known = {n for n in all_names.get(v, set()) if n} | {v}
        out.append(Speaker(v, tuple(sorted(known)), dict(texts.get(v, {}))))
    return out
