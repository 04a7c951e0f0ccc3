"""A small, careful English lemmatiser for motif matching (no model, no data download).

Matching only needs the same key for the forms of one word: ``echo``/``echoes``/``echoed``/``echoing``
-> ``echo``; ``burns``/``burning``/``burned`` -> ``burn``; ``offering``/``offerings`` -> ``offer``. Keys
are not dictionary lemmas (``flame`` and ``flames`` both key to ``flam``); reports show the most frequent
surface form instead. Suffixes are stripped only when a real stem (three letters, one vowel) remains.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

__all__ = ["STOPWORDS", "content_terms", "lemma", "tokens"]

_TOKEN = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")
_VOWEL = re.compile(r"[aeiouy]")

_IRREGULAR = {
    "was": "be", "were": "be", "is": "be", "are": "be", "been": "be", "being": "be", "am": "be",
    "has": "have", "had": "have", "having": "have", "did": "do", "does": "do", "done": "do", "doing": "do",
    "went": "go", "gone": "go", "goes": "go", "made": "make", "saw": "see", "seen": "see", "said": "say",
    "says": "say", "became": "become", "began": "begin", "begun": "begin", "thought": "think",
    "brought": "bring", "found": "find", "felt": "feel", "knew": "know", "known": "know", "told": "tell",
    "wrote": "write", "written": "write", "spoke": "speak", "spoken": "speak", "gave": "give",
    "given": "give", "took": "take", "taken": "take", "burnt": "burn", "lit": "light", "men": "man",
    "women": "woman", "children": "child", "mice": "mouse", "feet": "foot", "teeth": "tooth",
    "lives": "life", "selves": "self", "wolves": "wolf", "leaves": "leaf", "knives": "knife",
}

_STOP_TEXT = """
a about above across after again against all almost alone along already also although always among an and
another any anyone anything are aren't around as at away back be because become been before being below
between both but by can cannot can't could couldn't did didn't do does doesn't doing don't down during each
either else enough even ever every everything few for from further get gets getting give go going got had
hadn't has hasn't have haven't having he her here hers herself him himself his how however i i'm i've i'd
i'll if in into is isn't it it's its itself just least less let like made make makes many may me might more
most much must my myself neither never no nor not nothing now of off often on once one only onto or other
others our ours ourselves out over own per perhaps quite rather really same say says see seem seems shall
she should shouldn't since so some something still such than that that's the their theirs them themselves
then there there's these they they're this those though through thus to too toward towards under until up
upon us very via was wasn't we we're we've were weren't what what's when where whether which while who
whom whose why will with within without won't would wouldn't yes yet you you're you've your yours yourself
yourselves s t ll re ve d m o oh ah yeah okay ok mr ms dr
"""
STOPWORDS = frozenset(_STOP_TEXT.split())


def _fold(word: str) -> str:
    w = unicodedata.normalize("NFKC", word).casefold().replace("\u2019", "'")
    return w


def _stem_ok(stem: str) -> bool:
    return len(stem) >= 3 and _VOWEL.search(stem) is not None


def _undouble(stem: str) -> str:
    # running -> runn -> run; but keep "ll"/"ss"/"zz" doubled in words like "fall", "press", "buzz"
    if len(stem) >= 4 and stem[-1] == stem[-2] and stem[-1] not in "lsz" and stem[-1] not in "aeiou":
        return stem[:-1]
    return stem


def lemma(word: str) -> str:
    """The matching key of one word (lower-cased, inflection stripped, final ``e`` dropped)."""
    w = _fold(word)
    if w.endswith("'s"):
        w = w[:-2]
    w = w.strip("'")
    if w in _IRREGULAR:
        return _IRREGULAR[w]
    stem = w
    if len(w) > 4 and w.endswith("ies"):
        stem = w[:-3] + "y"
    elif (len(w) > 4 and w.endswith(("sses", "shes", "ches", "xes", "zes"))) or (len(w) > 3 and w.endswith("oes")):
        stem = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is", "ous")) and _stem_ok(w[:-1]):
        stem = w[:-1]
    # then verb endings, also on a plural noun made of one ("offerings" -> "offering" -> "offer")
    if stem.endswith("ing") and _stem_ok(stem[:-3]):
        stem = _undouble(stem[:-3])
    elif stem.endswith("ied") and len(stem) > 4:
        stem = stem[:-3] + "y"
    elif stem.endswith("ed") and _stem_ok(stem[:-2]) and not stem.endswith("eed"):
        stem = _undouble(stem[:-2])
    # A stem ending in "e" (flame/flames, make/making -> mak) loses it, so both sides meet.
    if len(stem) > 3 and stem.endswith("e") and not stem.endswith(("ee", "ie", "oe", "ye")):
        stem = stem[:-1]
    return stem


def tokens(text: str) -> Iterator[tuple[str, int, int]]:
    """Words of ``text`` (letters, with inner apostrophes) and their offsets."""
    for m in _TOKEN.finditer(text):
        yield m.group(0), m.start(), m.end()


def content_terms(text: str, *, phrases: bool = True) -> dict[str, set[str]]:
    """Matching key -> surface forms used, for the content words of ``text`` and, with ``phrases``, for
    pairs of adjacent content words within a sentence ("negative space", "data ocean")."""
    out: dict[str, set[str]] = {}
    prev: tuple[str, str, int] | None = None
    for word, start, _end in tokens(text):
        folded = _fold(word)
        is_content = len(folded) >= 3 and folded not in STOPWORDS and not folded.endswith("n't")
        key = lemma(word) if is_content else ""
        if is_content and key not in STOPWORDS:
            out.setdefault(key, set()).add(folded)
            if phrases and prev is not None:
                gap = text[prev[2]:start]
                if gap in (" ", "-"):
                    out.setdefault(f"{prev[0]} {key}", set()).add(f"{prev[1]} {folded}")
            prev = (key, folded, _end)
        else:
            prev = None
    return out
