"""``symposia analyze``: measure what the voices of one recorded session share, honestly.

Similarity of answers (voice x voice) against a floor of unrelated answers, the same for what the
voices were shown, shared images labelled echo/unprompted, near-verbatim shared spans (also with
other sessions of the archive), key formulations, and a verdict in plain words.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from symposia.analysis.formulations import Formulation, extract_formulations
from symposia.analysis.motifs import Background, Motif, answer_of, shared_motifs
from symposia.analysis.similarity import Embed, cross_mean, default_embed, floor_between, lift, pair_mean
from symposia.analysis.spans import SharedSpan, Source, shared_spans
from symposia.analysis.verdict import Verdict, session_verdict
from symposia.archive import Archive
from symposia.records import SessionRecord, TurnRecord

__all__ = ["PairStat", "SessionAnalysis", "analyze_session", "answer_turns"]

MAX_BACKGROUND = 400  # other sessions' answers read for the floor and base rates


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
            "format": "symposia.analysis/1",
            "session": {"id": self.session.id, "kind": self.session.kind, "title": self.session.title},
            "encoder": self.encoder,
            "voices": [{"voice": v, "name": self.names.get(v, v)} for v in self.voices],
            "similarity": [[num(x) for x in row] for row in self.matrix],
            "prompt_similarity": [[num(x) for x in row] for row in self.prompt_matrix],
            "pairs": [{"a": p.a, "b": p.b, "inter": num(p.inter), "prompts": num(p.prompts), "lift": num(p.lift)}
                      for p in self.pairs],
            "inter": num(self.inter), "prompt_sim": num(self.prompt_sim), "floor": num(self.floor),
            "floor_source": self.floor_source, "background": self.background,
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


def _archive_background(archive: Archive, session_id: str) -> list[tuple[str, str, str]]:
    rows = archive.query(
        "SELECT session_id, voice, answer FROM turns WHERE session_id != ? AND role = 'voice' "
        "AND status != 'error' AND answer != '' ORDER BY id DESC LIMIT ?", (session_id, MAX_BACKGROUND))
    return [(str(r["session_id"]), str(r["voice"]), str(r["answer"])) for r in rows]


def analyze_session(archive: Archive, session_id: str, *, embed: Embed | None = None,
                    controls: Sequence[str] | None = None, use_archive: bool = True,
                    formulations: Sequence[Formulation] | None = None, per_voice: int = 2,
                    min_span_words: int = 5, encoder: str | None = None) -> SessionAnalysis:
    """Analyse one stored session. ``controls``: answers to unrelated prompts (a control battery) for the
    floor and base rates; otherwise other sessions' answers in the archive are used when there are any."""
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
    for i, a in enumerate(voices):
        intra = pair_mean(ans_v[idx[a]])
        matrix[i][i] = None if math.isnan(intra) else intra
        for j in range(i + 1, n):
            b = voices[j]
            matrix[i][j] = matrix[j][i] = cross_mean(ans_v[idx[a]], ans_v[idx[b]])
            pmatrix[i][j] = pmatrix[j][i] = cross_mean(shown_v[idx[a]], shown_v[idx[b]])

    # the floor: answers to unrelated prompts, embedded with the same encoder
    floor: float | None = None
    background: Background | None = None
    if controls:
        cvec = emb(list(controls))
        floor = floor_between([cvec[i:i + 1] for i in range(len(cvec))])
        floor_source = f"control battery of {len(controls)} answers"
        background = Background.from_texts(floor_source, (("*", c) for c in controls))
    else:
        other = _archive_background(archive, session.id) if use_archive else []
        sessions = sorted({s for s, _, _ in other})
        if len(sessions) >= 2:
            ovec = emb([a for _, _, a in other])
            groups = {s: ovec[[k for k, (sid, _, _) in enumerate(other) if sid == s]] for s in sessions}
            floor = floor_between(groups)
            floor_source = f"{len(other)} answers from {len(sessions)} other sessions in the archive"
            background = Background.from_texts(floor_source, ((v, a) for _, v, a in other))
        else:
            floor_source = ("no control battery, and the archive holds no other sessions' answers"
                            if use_archive else "no control battery given")
    if floor is not None and math.isnan(floor):
        floor = None

    pairs: list[PairStat] = []
    for i, j in itertools.combinations(range(n), 2):
        inter = matrix[i][j]
        assert inter is not None
        pairs.append(PairStat(voices[i], voices[j], inter, pmatrix[i][j] or math.nan,
                              None if floor is None else lift(inter, floor)))
    inter_mean = float(np.mean([p.inter for p in pairs])) if pairs else None
    prompt_mean = float(np.mean([p.prompts for p in pairs])) if pairs else None

    motifs = shared_motifs([answer_of(t) for t in answers], background=background)
    sources = [Source(t.voice, t.result.text, t.id, t.session_id, shown[k]) for k, t in enumerate(answers)]
    if use_archive:
        sources += [Source(v, a, None, s) for s, v, a in _archive_background(archive, session.id)]
    spans = [s for s in shared_spans(sources, min_words=min_span_words)
             if any(sources[i].session_id == session.id for i, _ in s.spans)]

    forms = list(formulations) if formulations is not None else [
        f for t in answers for f in extract_formulations(t, per_voice)]
    verdict = session_verdict(
        voices=len(voices), inter=inter_mean, prompt_sim=prompt_mean, floor=floor, floor_source=floor_source,
        motifs=motifs, echo_spans=sum(1 for s in spans if s.echo), free_spans=sum(1 for s in spans if not s.echo),
        background=background.source if background else None)
    return SessionAnalysis(session=session, voices=voices, names=names, matrix=matrix, prompt_matrix=pmatrix,
                           pairs=pairs, inter=inter_mean, prompt_sim=prompt_mean, floor=floor,
                           floor_source=floor_source, background=background.source if background else None,
                           motifs=motifs, spans=spans, span_sources=sources, formulations=forms, verdict=verdict,
                           encoder=encoder_name)


