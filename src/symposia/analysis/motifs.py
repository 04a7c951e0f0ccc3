"""Shared images: content words and two-word phrases used by several voices, each use labelled ECHO
(the word was in what that voice was shown for that answer, after lemmatising) or UNPROMPTED.

Only unprompted uses can count toward convergence. Where base rates exist (a voice's answers to
unrelated prompts: a control battery or other sessions in the archive) the chance that k of M voices
use a word independently follows a Poisson-binomial distribution; its tail is reported, with
Benjamini–Hochberg correction over the words tested.

Rarity is judged against a fixed reference, not the user's archive: each image's general-language
frequency from the shipped ``wordfreq`` table (Zipf scale: 3 = once per million words, 6 = once per
thousand), so the list does not move as the archive grows. Ordinary words (Zipf >= :data:`COMMON_ZIPF`:
"think", "human", "possible") and the names of the voices and their models are not images.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from wordfreq import zipf_frequency

from symposia.analysis.lemmas import content_terms, lemma, tokens
from symposia.analysis.stats import benjamini_hochberg, poisson_binomial_tail
from symposia.records import TurnRecord, TurnRequest

__all__ = ["COMMON_ZIPF", "Answer", "Background", "Motif", "VoiceUse", "answer_of", "general_frequency",
           "motif_index", "name_keys", "prepare", "request_text", "shared_motifs", "shown_text"]

MIN_BASE_DOCS = 5  # fewer background answers than this for a voice: no base rate for it
COMMON_ZIPF = 5.0  # at least once per 100,000 words of general English: an ordinary word, not an image
# Model families a voice may name besides the session's own voices (their words are never images).
MODEL_FAMILIES = ("gpt", "openai", "claude", "anthropic", "opus", "sonnet", "haiku", "gemini", "gemma", "google",
                  "llama", "meta", "mistral", "mixtral", "qwen", "deepseek", "grok", "kimi", "moonshot", "glm",
                  "zhipu", "phi", "cohere", "command", "hermes", "nous", "olmo", "chatgpt", "copilot")


def general_frequency(label: str) -> float:
    """Zipf frequency of a word or phrase in general English (wordfreq's shipped table; 0 = unseen)."""
    return float(zipf_frequency(label, "en"))


def name_keys(names: Iterable[str]) -> frozenset[str]:
    """Matching keys of every word in voice ids, voice names and model ids ("qwen/qwen3-235b" -> qwen),
    plus well-known model families: words that name a voice are never shared images."""
    out = set(MODEL_FAMILIES)
    for name in names:
        for word, _, _ in tokens(name.replace("/", " ").replace("-", " ").replace("_", " ")):
            if len(word) >= 2:
                out.add(lemma(word))
    return frozenset(out)


def shown_text(turn: TurnRecord) -> str:
    """Everything the voice saw for this call: the system prompt and every message sent."""
    return request_text(turn.request)


def request_text(request: TurnRequest) -> str:
    """Everything a request shows its voice: the system prompt and every message, as one text."""
    parts = [request.system or ""] + [m.content for m in request.messages]
    return "\n\n".join(p for p in parts if p)


@dataclass(frozen=True)
class Answer:
    """One answer to analyse, with what its voice was shown when it wrote it."""

    voice: str
    text: str
    shown: str = ""
    turn_id: int | None = None
    prompt: str | None = None  # a study's prompt id (p1, c3, ...); None in a session

    @property
    def terms(self) -> dict[str, set[str]]:
        return content_terms(self.text)


def answer_of(turn: TurnRecord) -> Answer:
    return Answer(voice=turn.voice, text=turn.result.text, shown=shown_text(turn), turn_id=turn.id)


@dataclass
class Background:
    """Answers to unrelated prompts, per voice: where base rates come from."""

    source: str
    by_voice: dict[str, list[frozenset[str]]] = field(default_factory=dict)

    @classmethod
    def from_texts(cls, source: str, texts: Iterable[tuple[str, str]]) -> Background:
        """``texts``: (voice, answer text) pairs."""
        bg = cls(source)
        for voice, text in texts:
            bg.by_voice.setdefault(voice, []).append(frozenset(content_terms(text)))
        return bg

    @property
    def size(self) -> int:
        return sum(len(d) for d in self.by_voice.values())

    def base_rate(self, voice: str, key: str) -> float | None:
        """Share of this voice's background answers using ``key`` (add-half smoothed), or None when fewer than
        :data:`MIN_BASE_DOCS` are by this voice. Answers of no particular voice (``"*"``: a file of control
        answers) give none: a base rate is a voice's own habit, and off-genre answers of nobody in particular
        make every genre word look significant."""
        docs = self.by_voice.get(voice, []) if voice != "*" else []
        if len(docs) < MIN_BASE_DOCS:
            return None
        c = sum(1 for d in docs if key in d)
        return (c + 0.5) / (len(docs) + 1)


@dataclass(frozen=True)
class VoiceUse:
    voice: str
    status: Literal["echo", "unprompted"]
    turn_ids: tuple[int, ...]
    forms: tuple[str, ...]


@dataclass(frozen=True)
class Motif:
    key: str
    label: str  # the surface form used most often
    forms: tuple[str, ...]
    phrase: bool
    uses: tuple[VoiceUse, ...]
    zipf: float | None = None  # general-language frequency (wordfreq, Zipf scale); lower = rarer
    tail_p: float | None = None  # P(>= k of M voices use it, unprompted, at their base rates)
    q_value: float | None = None  # tail_p after Benjamini–Hochberg over the motifs tested

    @property
    def voices(self) -> tuple[str, ...]:
        return tuple(u.voice for u in self.uses)

    @property
    def echo_voices(self) -> tuple[str, ...]:
        return tuple(u.voice for u in self.uses if u.status == "echo")

    @property
    def unprompted_voices(self) -> tuple[str, ...]:
        return tuple(u.voice for u in self.uses if u.status == "unprompted")

    @property
    def status(self) -> Literal["echo", "unprompted", "mixed"]:
        if not self.unprompted_voices:
            return "echo"
        return "unprompted" if not self.echo_voices else "mixed"

    def to_dict(self) -> dict[str, object]:
        return {
            "key": self.key, "label": self.label, "forms": list(self.forms), "phrase": self.phrase,
            "status": self.status, "zipf": self.zipf, "tail_p": self.tail_p, "q_value": self.q_value,
            "uses": [{"voice": u.voice, "status": u.status, "turn_ids": list(u.turn_ids), "forms": list(u.forms)}
                     for u in self.uses],
        }


@functools.lru_cache(maxsize=4096)
def _terms(text: str, phrases: bool) -> Mapping[str, frozenset[str]]:
    """:func:`content_terms` of ``text``, made once per text (a council's voices are shown the same texts;
    the warm-up prepares each answer as its turn ends). Read only: callers must not change it."""
    return {key: frozenset(forms) for key, forms in content_terms(text, phrases=phrases).items()}


def prepare(text: str, shown: str = "", *, phrases: bool = True) -> None:
    """Find the content words of an answer and of what its voice was shown, ahead of
    :func:`shared_motifs` (the analysis warm-up calls this while a council runs); changes no result."""
    _terms(text, phrases)
    _terms(shown, phrases)


def shared_motifs(answers: Sequence[Answer], *, background: Background | None = None, min_voices: int = 2,
                  phrases: bool = True, exclude: frozenset[str] = frozenset(),
                  common_zipf: float = COMMON_ZIPF) -> list[Motif]:
    """Words and phrases used by at least ``min_voices`` voices, each use labelled echo or unprompted.

    A voice's use is *unprompted* when at least one of its answers uses the word while what it was
    shown for that answer did not contain it; otherwise *echo*. Words whose key is in ``exclude`` (names:
    :func:`name_keys`), phrases containing one, and ordinary words (general Zipf frequency >=
    ``common_zipf``) are left out. Sorted: most voices unprompted first, then rarer in general English,
    then more voices.
    """
    voices = list(dict.fromkeys(a.voice for a in answers))
    n_answers = Counter(a.voice for a in answers)
    # key -> voice -> (unprompted?, turn ids, forms)
    uses: dict[str, dict[str, tuple[bool, list[int], set[str]]]] = {}
    forms_count: dict[str, Counter[str]] = {}
    for a in answers:
        shown = _terms(a.shown, phrases)
        for key, fs in _terms(a.text, phrases).items():
            unprompted, ids, forms = uses.setdefault(key, {}).get(a.voice, (False, [], set()))
            if a.turn_id is not None:
                ids.append(a.turn_id)
            uses[key][a.voice] = (unprompted or key not in shown, ids, forms | fs)
            forms_count.setdefault(key, Counter()).update(fs)
    motifs: list[Motif] = []
    for key, by_voice in uses.items():
        if len(by_voice) < min_voices or any(part in exclude for part in key.split(" ")):
            continue
        label = sorted(forms_count[key].items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        zipf = general_frequency(label)
        if " " not in key and zipf >= common_zipf:
            continue
        vu = tuple(VoiceUse(v, "unprompted" if by_voice[v][0] else "echo", tuple(by_voice[v][1]),
                            tuple(sorted(by_voice[v][2]))) for v in voices if v in by_voice)
        tail: float | None = None
        k = sum(1 for u in vu if u.status == "unprompted")
        if background is not None and k >= min_voices:
            rates = [background.base_rate(v, key) for v in voices]
            if all(r is not None for r in rates):
                # a voice "uses" the word if any of its n answers does: 1 - (1 - p)^n
                ps = [1.0 - (1.0 - r) ** n_answers[v] for v, r in zip(voices, rates, strict=True) if r is not None]
                tail = poisson_binomial_tail(ps, k)
        motifs.append(Motif(key=key, label=label, forms=tuple(sorted(forms_count[key])), phrase=" " in key,
                            uses=vu, zipf=zipf, tail_p=tail))
    tested = [i for i, m in enumerate(motifs) if m.tail_p is not None]
    qs = benjamini_hochberg([motifs[i].tail_p or 0.0 for i in tested])
    for i, q in zip(tested, qs, strict=True):
        m = motifs[i]
        motifs[i] = dataclasses.replace(m, q_value=q)
    motifs.sort(key=lambda m: (-len(m.unprompted_voices), m.zipf if m.zipf is not None else 9.0, -len(m.uses),
                               m.phrase, m.label))
    return motifs


def motif_index(motifs: Sequence[Motif]) -> Mapping[str, Motif]:
    """Look motifs up by any surface form or key."""
    out: dict[str, Motif] = {}
    for m in motifs:
        out.setdefault(m.key, m)
        for f in m.forms:
            out.setdefault(f, m)
    return out
