"""The verdict in plain words: what the evidence can and cannot support. It never calls agreement
convergence when the shared images were in the prompts, when the floor is unknown, or when there are
too few voices or samples to test anything."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from symposia.analysis.motifs import Motif

__all__ = ["Verdict", "session_verdict", "words"]

FEW_VOICES = 3


@dataclass
class Verdict:
    headline: str
    points: list[str] = field(default_factory=list)
    claims_convergence: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"headline": self.headline, "points": self.points, "claims_convergence": self.claims_convergence}

    def text(self) -> str:
        return "\n".join([self.headline, *(f"- {p}" for p in self.points)])


def words(items: Sequence[str], limit: int = 8) -> str:
    shown = [f"“{i}”" for i in items[:limit]]
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(shown) + more


def _f(x: float | None) -> str:
    return "n/a" if x is None or math.isnan(x) else f"{x:.2f}"


def session_verdict(*, voices: int, inter: float | None, prompt_sim: float | None, floor: float | None,
                    floor_source: str, motifs: Sequence[Motif], echo_spans: int, free_spans: int,
                    background: str | None, floor_unreliable: str | None = None) -> Verdict:
    """A one-shot session: it can be described, not tested."""
    v = Verdict("This is one transcript: what it shows can be described, not tested. It cannot establish "
                "convergence; only a study (same neutral prompt, fresh contexts, several samples, a control "
                "battery: `symposia study`) can.")
    if voices < 2:
        v.points.append("Fewer than two voices answered: there is nothing to compare.")
        return v
    if voices < FEW_VOICES:
        v.points.append(f"Only {voices} voices answered: agreement between so few says little either way.")
    if floor is None or math.isnan(floor):
        v.points.append(f"The floor is unknown ({floor_source}): the raw similarity of the answers "
                        f"({_f(inter)}) cannot be read as agreement beyond what any two answers share with this "
                        "encoder. Declare one: control answers (--floor-answers FILE) or an archive query "
                        "(--floor-from \"kind=study\").")
    else:
        lift = (inter - floor) / (1 - floor) if inter is not None and floor < 1 else None
        v.points.append(f"Answers are {_f(inter)} similar on average against a floor of {_f(floor)} for unrelated "
                        f"answers ({floor_source}): lift {_f(lift)}.")
    if floor_unreliable:
        v.points.append(f"The floor is unreliable — {floor_unreliable}: its numbers describe, they test nothing, "
                        "and no significance is claimed.")
    if inter is not None and prompt_sim is not None and not math.isnan(prompt_sim) and inter <= prompt_sim + 0.02:
        v.points.append(f"The answers are no more alike than the questions the voices were asked "
                        f"(answers {_f(inter)}, questions {_f(prompt_sim)}): the prompts account for the resemblance.")
    echo = [m.label for m in motifs if m.status == "echo" and not m.phrase]
    if echo:
        v.points.append(f"Shared images that were in what the voices were shown — echo, not convergence: "
                        f"{words(echo)}.")
    free = [m for m in motifs if len(m.unprompted_voices) >= 2]
    if free:
        labels = [f"{m.label} ({', '.join(m.unprompted_voices)})" for m in free if not m.phrase]
        tested = [m for m in free if m.q_value is not None]
        if not tested:
            v.points.append(f"Shared without being shown: {words(labels)}. These are candidates only: there are no "
                            "reliable per-voice base rates (a reliable floor with at least 5 answers by each voice "
                            "gives them), and words like these are common in the genre.")
        else:
            sig = [m.label for m in tested if m.q_value is not None and m.q_value < 0.05]
            base = background or "the background"
            if sig:
                v.points.append(f"Shared without being shown: {words(labels)}. Against base rates from {base}, "
                                f"{words(sig)} are used by more voices than independence predicts (BH q < 0.05) "
                                "— in this one transcript, which is a lead for a study, not a finding.")
            else:
                v.points.append(f"Shared without being shown: {words(labels)}. None is used by more voices than "
                                f"their base rates from {base} predict (after Benjamini–Hochberg correction).")
    else:
        v.points.append("No content word was shared by two voices without being in what they were shown.")
    if echo_spans or free_spans:
        v.points.append(f"Near-verbatim shared spans: {free_spans} not in the prompts, {echo_spans} echoing them.")
    return v
