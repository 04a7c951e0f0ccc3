"""``symposia analyze``: measure what the voices of one recorded session share, honestly.

Similarity of answers (voice x voice) against a declared floor of unrelated answers, the same for what
the voices were shown, diversity per voice and per pair (Vendi, distinct-n, self-BLEU), shared images
judged against a fixed general-language reference and labelled echo/unprompted, near-verbatim spans
between different voices, key formulations, and a verdict in plain words.

Nothing here reads the rest of the archive unless the floor's declared source says so: the same
session analysed with the same (frozen) floor gives the same numbers however the archive grows.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from symposia.analysis import diversity as _diversity
from symposia.analysis import formulations as _formulations
from symposia.analysis import motifs as _motifs
from symposia.analysis import spans as _spans
from symposia.analysis.diversity import MEANINGS, Diversity, diversities
from symposia.analysis.floor import Floor
from symposia.analysis.formulations import Formulation, extract_formulations
from symposia.analysis.motifs import Background, Motif, answer_of, name_keys, shared_motifs
from symposia.analysis.similarity import Embed, block_means, default_embed, lift, pair_mean
from symposia.analysis.spans import SharedSpan, Source, shared_spans
from symposia.analysis.verdict import Verdict, session_verdict
from symposia.archive import Archive
from symposia.records import SessionRecord, TurnRecord

__all__ = ["PairStat", "SessionAnalysis", "analyze_session", "answer_turns", "prepare"]

@dataclass(frozen=True)
class PairStat:
    a: str
    b: str
    inter: float  # mean cosine of A's answers with B's
    prompts: float  # mean cosine of what A was shown with what B was shown
    lift: float | None


@dataclass
class SessionAnalysis:
    session: SessionRecord
    voices: list[str]
    names: dict[str, str]
    matrix: list[list[float | None]]  # answers; the diagonal holds intra where a voice answered several times
    prompt_matrix: list[list[float | None]]
    pairs: list[PairStat]
    inter: float | None
    prompt_sim: float | None
    floor: float | None
    floor_source: str
    background: str | None
    floor_info: Floor | None
    diversity: list[Diversity]
    motifs: list[Motif]
    spans: list[SharedSpan]
    span_sources: list[Source]
    formulations: list[Formulation]
    verdict: Verdict
    rejected_formulations: list[dict[str, str]] = field(default_factory=list)
    encoder: str = ""

    def to_dict(self) -> dict[str, Any]:
        def num(x: float | None) -> float | None:
            return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), 4)

        return {
            "format": "symposia.analysis/2",
            "session": {"id": self.session.id, "kind": self.session.kind, "title": self.session.title},
            "encoder": self.encoder,
            "voices": [{"voice": v, "name": self.names.get(v, v)} for v in self.voices],
            "similarity": [[num(x) for x in row] for row in self.matrix],
            "prompt_similarity": [[num(x) for x in row] for row in self.prompt_matrix],
            "pairs": [{"a": p.a, "b": p.b, "inter": num(p.inter), "prompts": num(p.prompts), "lift": num(p.lift)}
                      for p in self.pairs],
            "inter": num(self.inter), "prompt_sim": num(self.prompt_sim), "floor": num(self.floor),
            "floor_source": self.floor_source, "background": self.background,
            "floor_detail": None if self.floor_info is None else {
                k: v for k, v in self.floor_info.to_dict().items() if k != "texts"},
            "diversity": [d.to_dict() for d in self.diversity], "diversity_meanings": MEANINGS,
            "motifs": [m.to_dict() for m in self.motifs],
            "spans": [s.to_dict(self.span_sources) for s in self.spans],
            "formulations": [f.to_dict() for f in self.formulations],
            "rejected_formulations": self.rejected_formulations,
            "verdict": self.verdict.to_dict(),
        }


def answer_turns(turns: Sequence[TurnRecord]) -> list[TurnRecord]:
    """The answers worth analysing: successful, non-empty voice turns (not peer rankings)."""
    return [t for t in turns if t.role == "voice" and t.result.ok and t.result.text.strip()
            and t.meta.get("kind") != "ranking"]


def prepare(turns: Sequence[TurnRecord], *, min_span_words: int = 5, per_voice: int = 2) -> None:
    """Make ahead, in their caches, what :func:`analyze_session` computes from each of these answers alone
    (its n-gram counts, its words and sentences for the shared spans, its content words, its key
    formulations, the words of what its voice was shown), so that the analysis at the end of a council
    only compares. The warm-up calls this while the next round is out; it changes no result, and an
    analysis that finds nothing prepared makes it all."""
    for t in answer_turns(turns):
        shown = answer_of(t).shown
        _diversity.prepare(t.result.text)
        _spans.prepare(t.result.text, shown, min_words=min_span_words)
        _motifs.prepare(t.result.text, shown)
        _formulations.prepare(t, per_voice)


def analyze_session(archive: Archive, session_id: str, *, embed: Embed | None = None, floor: Floor | None = None,
                    formulations: Sequence[Formulation] | None = None, per_voice: int = 2,
                    min_span_words: int = 5, encoder: str | None = None) -> SessionAnalysis:
    """Analyse one stored session. ``floor``: a declared floor (see :mod:`symposia.analysis.floor`); its
    value and reliability are computed here with the same encoder. Without one, the floor is unknown."""
    session = archive.get_session(session_id)
    turns = archive.session_turns(session.id)
    answers = answer_turns(turns)
    voices = list(dict.fromkeys(t.voice for t in answers))
    names = {t.voice: t.voice_name for t in answers}
    emb = embed or default_embed()
    encoder_name = encoder or getattr(emb, "encoder_name", None) or "all-MiniLM-L6-v2 (symposia.embed)"

    texts = [t.result.text for t in answers]
    shown = [answer_of(t).shown for t in answers]
    vecs = emb(texts + shown) if texts else np.zeros((0, 1), dtype=np.float32)
    ans_v, shown_v = vecs[:len(texts)], vecs[len(texts):]
    idx = {v: [i for i, t in enumerate(answers) if t.voice == v] for v in voices}

    n = len(voices)
    matrix: list[list[float | None]] = [[None] * n for _ in range(n)]
    pmatrix: list[list[float | None]] = [[None] * n for _ in range(n)]
    groups = [idx[v] for v in voices]
    cross, pcross = block_means(ans_v, groups), block_means(shown_v, groups)  # every pair, one product each
    for i, a in enumerate(voices):
        intra = pair_mean(ans_v[idx[a]])
        matrix[i][i] = None if math.isnan(intra) else intra
        for j in range(i + 1, n):
            matrix[i][j] = matrix[j][i] = float(cross[i, j])
            pmatrix[i][j] = pmatrix[j][i] = float(pcross[i, j])

    # the floor: a declared source, embedded with the same encoder
    background: Background | None = None
    floor_value: float | None = None
    if floor is not None:
        floor.compute(emb, texts)
        floor_value = floor.value
        floor_source = floor.label
        if floor.unreliable is None:
            background = Background.from_texts(floor_source, ((t.voice, t.text) for t in floor.texts))
    else:
        floor_source = "no floor declared (--floor-answers FILE or --floor-from QUERY)"

    pairs: list[PairStat] = []
    for i, j in itertools.combinations(range(n), 2):
        inter = matrix[i][j]
        assert inter is not None
        pairs.append(PairStat(voices[i], voices[j], inter, pmatrix[i][j] or math.nan,
                              None if floor_value is None else lift(inter, floor_value)))
    inter_mean = float(np.mean([p.inter for p in pairs])) if pairs else None
    prompt_mean = float(np.mean([p.prompts for p in pairs])) if pairs else None

    div = diversities([(v, idx[v]) for v in voices]
                      + [(f"{a} · {b}", idx[a] + idx[b]) for a, b in itertools.combinations(voices, 2)],
                      texts, ans_v)
    models = [t.request.model for t in answers] + [t.result.model_reported or "" for t in answers]
    exclude = name_keys([*voices, *names.values(), *models])
    motifs = shared_motifs([answer_of(t) for t in answers], background=background, exclude=exclude)
    sources = [Source(t.voice, t.result.text, t.id, t.session_id, shown[k]) for k, t in enumerate(answers)]
    spans = shared_spans(sources, min_words=min_span_words)

    forms = list(formulations) if formulations is not None else [
        f for t in answers for f in extract_formulations(t, per_voice)]
    verdict = session_verdict(
        voices=len(voices), inter=inter_mean, prompt_sim=prompt_mean, floor=floor_value, floor_source=floor_source,
        floor_unreliable=floor.unreliable if floor is not None else None,
        motifs=motifs, echo_spans=sum(1 for s in spans if s.echo), free_spans=sum(1 for s in spans if not s.echo),
        background=background.source if background else None)
    return SessionAnalysis(session=session, voices=voices, names=names, matrix=matrix, prompt_matrix=pmatrix,
                           pairs=pairs, inter=inter_mean, prompt_sim=prompt_mean, floor=floor_value,
                           floor_source=floor_source, background=background.source if background else None,
                           floor_info=floor, diversity=div, motifs=motifs, spans=spans, span_sources=sources,
                           formulations=forms, verdict=verdict, encoder=encoder_name)
