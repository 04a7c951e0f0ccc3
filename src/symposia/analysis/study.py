"""Study statistics: per voice pair intra (same-model resampling), inter, floor, lift with bootstrap CIs
over prompts, two permutation tests, diversity (Vendi, distinct-n, self-BLEU), motif statistics with BH
correction, and — for a study run with ``echo`` — the echo effect: how much more alike a voice's answer
is to the other voices' answers once it has been shown them. The orchestrator that runs a study lives in
:mod:`symposia.dialogue.study`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from symposia.analysis.diversity import MEANINGS, Diversity, averaged, diversity
from symposia.analysis.floor import reliability
from symposia.analysis.lemmas import content_terms
from symposia.analysis.motifs import Answer, Background, Motif, name_keys, shared_motifs
from symposia.analysis.similarity import Embed, Vectors, default_embed, lift
from symposia.analysis.stats import benjamini_hochberg, bootstrap_ci, label_permutation_test, prompt_permutation_test
from symposia.analysis.verdict import Verdict, words
from symposia.archive import Archive
from symposia.dialogue.study import StudyPlan
from symposia.errors import SymposiaError
from symposia.records import SessionRecord

__all__ = ["EchoEffect", "MotifHit", "PairResult", "SetResult", "StudyAnalysis", "analyze_study", "echo_effects",
           "study_verdict"]

RECOMMENDED_SAMPLES = 5
RECOMMENDED_CONTROLS = 20


@dataclass(frozen=True)
class PairResult:
    a: str
    b: str
    intra_a: float
    intra_b: float
    inter: float
    floor: float | None
    lift: float | None
    lift_ci: tuple[float, float] | None
    inter_ci: tuple[float, float]
    p_same_prompt: float  # inter on the same prompt > inter across prompts (prompt labels permuted)
    q_same_prompt: float  # after Benjamini–Hochberg over the pairs
    p_distinct: float  # voices distinguishable (voice labels shuffled within prompts)

    def to_dict(self) -> dict[str, Any]:
        def num(x: float | None) -> float | None:
            return None if x is None or math.isnan(x) else round(float(x), 4)
        return {"a": self.a, "b": self.b, "intra_a": num(self.intra_a), "intra_b": num(self.intra_b),
                "inter": num(self.inter), "floor": num(self.floor), "lift": num(self.lift),
                "lift_ci": [num(x) for x in self.lift_ci] if self.lift_ci else None,
                "inter_ci": [num(x) for x in self.inter_ci], "p_same_prompt": num(self.p_same_prompt),
                "q_same_prompt": num(self.q_same_prompt), "p_distinct": num(self.p_distinct)}


@dataclass(frozen=True)
class MotifHit:
    prompt: str
    motif: Motif


@dataclass
class SetResult:
    """The statistics of one prompt set: the prompts as written, or their cue-stripped rewordings."""

    name: str
    prompts: list[str]
    voices: list[str]
    intra: dict[str, float]
    intra_over_08: dict[str, float]
    matrix: list[list[float | None]]
    pairs: list[PairResult]
    motifs: list[MotifHit]
    diversity: list[Diversity]  # per voice, then per pair (pooled): each measure per prompt, averaged
    cue_echo: float | None = None  # share of answers using a word the rewording removed

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "prompts": self.prompts, "voices": self.voices,
            "intra": {v: (None if math.isnan(x) else round(x, 4)) for v, x in self.intra.items()},
            "intra_share_over_0.8": self.intra_over_08,
            "matrix": [[None if x is None or math.isnan(x) else round(x, 4) for x in row] for row in self.matrix],
            "pairs": [p.to_dict() for p in self.pairs],
            "motifs": [{"prompt": h.prompt, **h.motif.to_dict()} for h in self.motifs],
            "diversity": [d.to_dict() for d in self.diversity],
            "cue_echo": self.cue_echo,
        }


@dataclass(frozen=True)
class EchoEffect:
    """For one voice (or ``"all"``): mean cosine of its answer with the other voices' fresh answers to the
    same prompt and sample, written fresh vs written after being shown them; effect = exposed − fresh,
    with a bootstrap CI over prompts."""

    voice: str
    fresh: float
    exposed: float
    effect: float
    ci: tuple[float, float]
    prompts: int

    def to_dict(self) -> dict[str, Any]:
        def num(x: float) -> float | None:
            return None if math.isnan(x) else round(float(x), 4)
        return {"voice": self.voice, "fresh": num(self.fresh), "exposed": num(self.exposed),
                "effect": num(self.effect), "ci": [num(x) for x in self.ci], "prompts": self.prompts}


@dataclass
class StudyAnalysis:
    session: SessionRecord
    plan: StudyPlan
    names: dict[str, str]
    floor_source: str
    sets: list[SetResult]
    verdict: Verdict
    missing: int  # planned calls without a usable answer
    encoder: str = ""
    floor_texts: int = 0
    floor_unreliable: str | None = None
    floor_ids: list[str] = field(default_factory=list)  # the control answers the floor was computed from
    echo: list[EchoEffect] | None = None  # per voice, then "all"; None when the study ran without --echo

    def to_dict(self) -> dict[str, Any]:
        return {"format": "symposia.study/2",
                "session": {"id": self.session.id, "kind": self.session.kind, "title": self.session.title},
                "encoder": self.encoder, "plan": self.plan.to_dict(), "floor_source": self.floor_source,
                "floor_texts": self.floor_texts, "floor_unreliable": self.floor_unreliable,
                "floor_ids": self.floor_ids,
                "missing": self.missing, "sets": [s.to_dict() for s in self.sets],
                "echo": None if self.echo is None else [e.to_dict() for e in self.echo],
                "diversity_meanings": MEANINGS, "verdict": self.verdict.to_dict()}


def _nanmean(xs: Sequence[float]) -> float:
    vals = [x for x in xs if not math.isnan(x)]
    return float(np.mean(vals)) if vals else math.nan


def _pair_floor(ca: dict[str, Vectors], cb: dict[str, Vectors], keys: Sequence[str]) -> tuple[float, Any]:
    """Mean cosine of A's answers with B's answers to *different* prompts, and the per-prompt-pair matrix."""
    n = len(keys)
    f = np.full((n, n), np.nan)
    for i, p in enumerate(keys):
        for j, q in enumerate(keys):
            if i != j and p in ca and q in cb and len(ca[p]) and len(cb[q]):
                f[i, j] = float(np.mean(ca[p] @ cb[q].T))
    off = f[~np.isnan(f)]
    return (float(np.mean(off)) if off.size else math.nan), f


def _resampled_floor(f: Any, idx: Any) -> float:
    sub = f[np.ix_(idx, idx)]
    mask = idx[:, None] != idx[None, :]
    vals = sub[mask]
    vals = vals[~np.isnan(vals)]
    return float(np.mean(vals)) if vals.size else math.nan


def _set_result(name: str, prompt_ids: list[str], prompt_text: dict[str, str], voices: list[str],
                vec: dict[tuple[str, str], Vectors], texts: dict[tuple[str, str], list[str]],
                controls: dict[str, dict[str, Vectors]], control_ids: list[str], background: Background | None,
                system: str | None, n_perm: int, n_boot: int, seed: int, exclude: frozenset[str]) -> SetResult:
    empty = np.zeros((0, 1), dtype=np.float32)

    def get(p: str, v: str) -> Vectors:
        return vec.get((p, v), empty)

    intra: dict[str, float] = {}
    over: dict[str, float] = {}
    per_prompt_intra: dict[str, list[float]] = {}
    for v in voices:
        vals = []
        for p in prompt_ids:
            x = get(p, v)
            if len(x) >= 2:
                s = x @ x.T
                vals.append(float(np.mean(s[np.triu_indices(len(x), 1)])))
            else:
                vals.append(math.nan)
        per_prompt_intra[v] = vals
        intra[v] = _nanmean(vals)
        real = [x for x in vals if not math.isnan(x)]
        over[v] = round(sum(1 for x in real if x > 0.8) / len(real), 4) if real else math.nan
    n = len(voices)
    matrix: list[list[float | None]] = [[None] * n for _ in range(n)]
    for i, v in enumerate(voices):
        matrix[i][i] = None if math.isnan(intra[v]) else intra[v]
    raw_pairs = []
    for (i, a), (j, b) in itertools.combinations(enumerate(voices), 2):
        usable = [p for p in prompt_ids if len(get(p, a)) and len(get(p, b))]
        per_prompt = np.array([float(np.mean(get(p, a) @ get(p, b).T)) for p in usable])
        inter = float(np.mean(per_prompt)) if len(per_prompt) else math.nan
        matrix[i][j] = matrix[j][i] = None if math.isnan(inter) else inter
        if control_ids:
            floor, fmat = _pair_floor(controls.get(a, {}), controls.get(b, {}), control_ids)
        else:  # no battery: answers of A and B to different study prompts
            floor, fmat = _pair_floor({p: get(p, a) for p in usable}, {p: get(p, b) for p in usable}, usable)
        floor_v = None if math.isnan(floor) else floor
        lift_v = None if floor_v is None else lift(inter, floor_v)
        rng_seed = seed + 7 * i + j
        def inter_stat(idx: Any, pp: Any = per_prompt) -> float:
            return float(np.mean(pp[idx]))

        inter_ci = bootstrap_ci(inter_stat, len(per_prompt), n_boot=n_boot, seed=rng_seed)
        lift_ci: tuple[float, float] | None = None
        if floor_v is not None:
            nf = fmat.shape[0]
            frng = np.random.default_rng(rng_seed + 1)

            def lift_stat(idx: Any, fm: Any = fmat, rng: Any = frng, nf: int = nf, pp: Any = per_prompt) -> float:
                fl = _resampled_floor(fm, rng.integers(0, nf, size=nf))
                return lift(float(np.mean(pp[idx])), fl)

            lift_ci = bootstrap_ci(lift_stat, len(per_prompt), n_boot=n_boot, seed=rng_seed)
        cross = np.array([[float(np.mean(get(p, a) @ get(q, b).T)) for q in usable] for p in usable])
        same = prompt_permutation_test(cross, n_perm=n_perm, seed=rng_seed) if len(usable) >= 2 else None
        # voice labels shuffled within prompts, on one similarity matrix of all of A's and B's answers
        blocks, groups, off = [], [], 0
        for p in usable:
            xa, xb = get(p, a), get(p, b)
            blocks += [xa, xb]
            groups.append((list(range(off, off + len(xa))), list(range(off + len(xa), off + len(xa) + len(xb)))))
            off += len(xa) + len(xb)
        allv = np.concatenate(blocks) if blocks else empty
        distinct = label_permutation_test((allv @ allv.T).astype(np.float64), groups, n_perm=min(n_perm, 2000),
                                          seed=rng_seed)
        raw_pairs.append((a, b, inter, floor_v, lift_v, lift_ci, inter_ci,
                          same.p_value if same else 1.0, distinct.p_value))
    qs = benjamini_hochberg([r[7] for r in raw_pairs])
    pairs = [PairResult(a, b, intra[a], intra[b], inter, fl, lv, lci, ici, p1, q, p2)
             for (a, b, inter, fl, lv, lci, ici, p1, p2), q in zip(raw_pairs, qs, strict=True)]

    hits: list[MotifHit] = []
    for p in prompt_ids:
        shown = "\n\n".join(x for x in (system or "", prompt_text.get(p, "")) if x)
        answers = [Answer(voice=v, text=t, shown=shown, prompt=p) for v in voices for t in texts.get((p, v), [])]
        hits += [MotifHit(p, m) for m in shared_motifs(answers, background=background, exclude=exclude)
                 if len(m.uses) >= 2]
    tested = [k for k, h in enumerate(hits) if h.motif.tail_p is not None]
    qv = benjamini_hochberg([hits[k].motif.tail_p or 0.0 for k in tested])
    for k, q in zip(tested, qv, strict=True):
        m = hits[k].motif
        hits[k] = MotifHit(hits[k].prompt, replace(m, q_value=q))
    hits.sort(key=lambda h: (h.motif.q_value if h.motif.q_value is not None else 2.0,
                             -len(h.motif.unprompted_voices), h.prompt, h.motif.label))
    div: list[Diversity] = []
    sets_of: list[tuple[str, tuple[str, ...]]] = [(v, (v,)) for v in voices]
    sets_of += [(f"{a} · {b}", (a, b)) for a, b in itertools.combinations(voices, 2)]
    for label, members in sets_of:
        parts = []
        for p in prompt_ids:
            ts = [t for m in members for t in texts.get((p, m), [])]
            if ts:
                parts.append(diversity(label, ts, np.concatenate([get(p, m) for m in members if len(get(p, m))])))
        div.append(averaged(label, parts))
    return SetResult(name, [prompt_text[p] for p in prompt_ids], voices, intra, over, matrix, pairs, hits, div)


def analyze_study(archive: Archive, session_id: str, *, embed: Embed | None = None, n_perm: int = 5000,
                  n_boot: int = 2000, seed: int = 0) -> StudyAnalysis:
    """The statistics of a stored study (finished or not: missing answers are counted and left out)."""
    session = archive.get_session(session_id)
    if session.kind != "study":
        raise SymposiaError(f"session {session.id} is a {session.kind!r} session, not a study: "
                            f"use `symposia analyze {session.id}`")
    plan = StudyPlan.from_dict(dict(session.plan))
    turns = archive.session_turns(session.id)
    emb = embed or default_embed()
    answers = [t for t in turns if t.role == "voice" and t.result.ok and t.result.text.strip()
               and t.meta.get("kind") == "study"]
    names = {t.voice: t.voice_name for t in answers}
    voices = [v for v in plan.voices if v in names] or list(names)
    reworded = {str(t.meta.get("prompt")): t.result.text.strip() for t in turns
                if t.meta.get("kind") == "reword" and t.result.ok and t.result.text.strip()}
    all_vecs = emb([t.result.text for t in answers]) if answers else np.zeros((0, 1), dtype=np.float32)
    by: dict[tuple[str, str, str], list[int]] = {}
    for k, t in enumerate(answers):
        by.setdefault((str(t.meta.get("set")), str(t.meta.get("prompt")), t.voice), []).append(k)

    def vectors(set_name: str) -> tuple[dict[tuple[str, str], Vectors], dict[tuple[str, str], list[str]]]:
        vec = {(p, v): all_vecs[ix] for (s, p, v), ix in by.items() if s == set_name}
        txt = {(p, v): [answers[k].result.text for k in ix] for (s, p, v), ix in by.items() if s == set_name}
        return vec, txt

    control_ids = [f"c{i}" for i in range(1, len(plan.controls) + 1)]
    cvec, ctxt = vectors("control")
    controls: dict[str, dict[str, Vectors]] = {}
    for (p, v), x in cvec.items():
        controls.setdefault(v, {})[p] = x
    floor_texts = [t for ts in ctxt.values() for t in ts]
    vec, txt = vectors("prompt")
    unreliable = (reliability(floor_texts, [t for ts in txt.values() for t in ts]) if ctxt else
                  "no control prompts were run: the floor comes from answers to the study's own prompts")
    # base rates (and so motif significance) only from a reliable battery
    background = Background.from_texts(f"the control battery ({len(control_ids)} prompts)",
                                       ((v, t) for (_, v), ts in ctxt.items() for t in ts)) \
        if ctxt and unreliable is None else None
    floor_source = (f"{len(floor_texts)} answers to {len(control_ids)} control prompts" if ctxt else
                    "no control battery: answers to different study prompts (an upper bound if prompts are related)")
    prompt_ids = [f"p{i}" for i in range(1, len(plan.prompts) + 1)]
    sets = []
    exclude = name_keys([*voices, *names.values(), *(t.request.model for t in answers)])
    original = _set_result("prompts", prompt_ids, dict(zip(prompt_ids, plan.prompts, strict=True)), voices, vec, txt,
                           controls, control_ids if ctxt else [], background, plan.system, n_perm, n_boot, seed,
                           exclude)
    sets.append(original)
    if reworded:
        rvec, rtxt = vectors("reworded")
        rids = [p for p in prompt_ids if p in reworded]
        rw = _set_result("reworded", rids, reworded, voices, rvec, rtxt, controls, control_ids if ctxt else [],
                         background, plan.system, n_perm, n_boot, seed, exclude)
        # CHOIR's measure: how many answers use a word that the rewording took out of the prompt
        for result, text_of in ((original, txt), (rw, rtxt)):
            used = total = 0
            for p in rids:
                cues = set(content_terms(dict(zip(prompt_ids, plan.prompts, strict=True))[p], phrases=False)) - \
                    set(content_terms(reworded[p], phrases=False))
                for v in voices:
                    for ans in text_of.get((p, v), []):
                        total += 1
                        used += bool(cues & set(content_terms(ans, phrases=False)))
            result.cue_echo = round(used / total, 4) if total else None
        sets.append(rw)
    echo = None
    if plan.echo:
        sample_vec = {(str(t.meta.get("set")), str(t.meta.get("prompt")), t.voice, int(t.meta.get("sample", 0))):
                      all_vecs[k] for k, t in enumerate(answers)}
        echo = echo_effects(sample_vec, voices, prompt_ids, plan.samples, n_boot=n_boot, seed=seed)
    missing = max(0, plan.calls - len(answers) - len(reworded))
    verdict = study_verdict(plan, sets, floor_known=bool(ctxt), missing=missing, unreliable=unreliable,
                            echo_effect=echo)
    encoder = getattr(emb, "encoder_name", None) or "custom encoder"
    return StudyAnalysis(session, plan, names, floor_source, sets, verdict, missing, str(encoder),
                         floor_texts=len(floor_texts), floor_unreliable=unreliable, echo=echo,
                         floor_ids=[f"turn:{t.id}" for t in answers if t.meta.get("set") == "control"])


def echo_effects(vec: dict[tuple[str, str, str, int], Vectors], voices: Sequence[str], prompt_ids: Sequence[str],
                 samples: int, *, n_boot: int = 2000, seed: int = 0) -> list[EchoEffect]:
    """Per voice and overall: cos(answer, other voices' fresh answers of the same prompt and sample), fresh
    answer vs exposed answer (written after being shown them). Only (prompt, sample)s with both are used."""
    fresh: dict[str, dict[str, list[float]]] = {v: {} for v in voices}
    exposed: dict[str, dict[str, list[float]]] = {v: {} for v in voices}
    for p in prompt_ids:
        for k in range(1, samples + 1):
            for v in voices:
                own, shown = vec.get(("prompt", p, v, k)), vec.get(("exposed", p, v, k))
                if own is None or shown is None:
                    continue
                others = [vec[("prompt", p, o, k)] for o in voices if o != v and ("prompt", p, o, k) in vec]
                if not others:
                    continue
                o = np.stack(others)
                fresh[v].setdefault(p, []).append(float(np.mean(o @ own)))
                exposed[v].setdefault(p, []).append(float(np.mean(o @ shown)))

    def effect(label: str, members: Sequence[str]) -> EchoEffect:
        ps = [p for p in prompt_ids if any(p in fresh[v] for v in members)]
        f = np.array([np.mean([x for v in members for x in fresh[v].get(p, [])]) for p in ps])
        e = np.array([np.mean([x for v in members for x in exposed[v].get(p, [])]) for p in ps])
        if not len(ps):
            return EchoEffect(label, math.nan, math.nan, math.nan, (math.nan, math.nan), 0)
        d = e - f
        ci = bootstrap_ci(lambda idx: float(np.mean(d[idx])), len(ps), n_boot=n_boot, seed=seed)
        return EchoEffect(label, float(np.mean(f)), float(np.mean(e)), float(np.mean(d)), ci, len(ps))

    return [effect(v, [v]) for v in voices] + [effect("all", list(voices))]


def _ci(ci: tuple[float, float] | None) -> str:
    return "n/a" if ci is None or math.isnan(ci[0]) else f"[{ci[0]:.2f}, {ci[1]:.2f}]"


def study_verdict(plan: StudyPlan, sets: Sequence[SetResult], *, floor_known: bool, missing: int,
                  unreliable: str | None = None, echo_effect: Sequence[EchoEffect] | None = None) -> Verdict:
    main = sets[0]
    v = Verdict("")
    converging = []
    if unreliable:
        v.points.append(f"The floor is unreliable — {unreliable}: lifts and p-values below describe this run, "
                        "no significance is claimed (run enough control prompts that voices × control prompts × "
                        "samples >= 50).")
    for p in main.pairs:
        pair = f"{p.a} and {p.b}"
        if p.lift is None:
            v.points.append(f"{pair}: inter {p.inter:.2f}, floor unknown — no lift can be computed.")
            continue
        beyond = p.lift_ci is not None and not math.isnan(p.lift_ci[0]) and p.lift_ci[0] > 0
        if unreliable:
            v.points.append(f"{pair}: lift {p.lift:.2f} (95% CI {_ci(p.lift_ci)}) over an unreliable floor.")
        elif beyond and p.q_same_prompt < 0.05:
            converging.append(pair)
            alike = ("and are about as alike to each other as each is to itself (labels shuffled within prompts: "
                     f"p = {p.p_distinct:.3f})" if p.p_distinct >= 0.05 else
                     f"though each stays distinguishable from the other (p = {p.p_distinct:.3f})")
            v.points.append(f"{pair} agree beyond the floor: lift {p.lift:.2f} (95% CI {_ci(p.lift_ci)}), more on "
                            f"the same prompt than across prompts (q = {p.q_same_prompt:.3f}), {alike}.")
        else:
            v.points.append(f"{pair}: no evidence of agreement beyond the floor (lift {p.lift:.2f}, 95% CI "
                            f"{_ci(p.lift_ci)}; same prompt vs across prompts q = {p.q_same_prompt:.3f}).")
    sig = [h for h in main.motifs if h.motif.q_value is not None and h.motif.q_value < 0.05]
    echo = sorted({h.motif.label for h in main.motifs if h.motif.status == "echo" and not h.motif.phrase})
    if sig:
        v.points.append("Words used unprompted by more voices than their control base rates predict (BH q < 0.05): "
                        + words([f"{h.motif.label} ({h.prompt})" for h in sig]) + ".")
    elif any(h.motif.tail_p is not None for h in main.motifs):
        v.points.append("No shared unprompted word exceeds the voices' base rates after Benjamini–Hochberg correction.")
    if echo:
        v.points.append(f"Shared words that were in the prompts (echo, not evidence): {words(echo)}.")
    if len(sets) > 1 and sets[1].cue_echo is not None and main.cue_echo is not None:
        v.points.append(f"Cue-stripped rewording: answers using a removed cue word fell from {main.cue_echo:.0%} to "
                        f"{sets[1].cue_echo:.0%}.")
    if not floor_known:
        v.points.append("No control battery was run: the floor comes from answers to the study's own prompts.")
    if echo_effect:
        overall = echo_effect[-1]
        if overall.prompts:
            v.points.append("Echo effect: shown the other voices' answers, a voice's answer moves "
                            f"{overall.effect:+.2f} "
                            f"closer to them in cosine (fresh {overall.fresh:.2f} → exposed {overall.exposed:.2f}, "
                            f"95% CI {_ci(overall.ci)} over {overall.prompts} prompts).")
    if plan.samples < RECOMMENDED_SAMPLES or len(plan.controls) < RECOMMENDED_CONTROLS:
        v.points.append(f"Below the recommended design (K >= {RECOMMENDED_SAMPLES} samples, >= "
                        f"{RECOMMENDED_CONTROLS} control prompts; here K = {plan.samples}, "
                        f"{len(plan.controls)} controls): treat p-values and intervals as rough.")
    if len(main.prompts) < 5:
        v.points.append(f"Only {len(main.prompts)} prompts: the bootstrap over prompts is coarse.")
    if missing:
        v.points.append(f"{missing} planned calls have no usable answer and were left out.")
    v.claims_convergence = bool(converging)
    v.headline = (f"Agreement beyond the floor for {words(converging)}; see the caveats below." if converging
                  else "No voice pair agrees beyond what unrelated answers share.")
    return v
