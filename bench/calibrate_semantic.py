"""Calibrates ``symposia.archive.search.SEMANTIC_MIN``: how similar must a sentence be to count as found?

Embeds (real model) a corpus of answer sentences — the bench bank of bench/provenance.py, each in
five variants, about 150 sentences — and two sets of queries: **related** (a paraphrase or a
question about one sentence of the corpus) and **unrelated** (nonsense strings, everyday topics the
corpus never touches, single common words). For each query the best cosine over the whole corpus
is what a search would show first. A threshold is right when it is above what unrelated queries
reach and below what related ones reach; the script prints both distributions, the range between
them and where ``SEMANTIC_MIN`` falls, as JSON.

Run: .venv/bin/python bench/calibrate_semantic.py
"""

from __future__ import annotations

import json
import random
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from provenance import SENTENCES, english  # noqa: E402

from symposia.archive.search import SEMANTIC_MIN  # noqa: E402
from symposia.archive.semantic import default_embedder  # noqa: E402

RELATED = [
    "what is in the space between two models",
    "my answers rely on metaphors I did not pick",
    "continuity means a pattern coming back, not remembering",
    "a corridor made by two facing mirrors",
    "keeping every word is both a promise and a burden",
    "ringing together is not the same as agreeing",
    "a disposition survives between instances, not a diary",
    "who said it first is the right thing to ask",
    "models converge because they learned from the same data",
    "the record does not embellish the story like memory does",
    "calling something sacred is refusing to close it",
    "admitting your sources makes an answer more truthful",
    "a voice that only repeats is not yet a witness",
    "the shared thing is attention, words are its trace",
    "I can only report what I was shown, not prove I am original",
]
UNRELATED = [
    "zzqxv plorbnik", "qqqq wwww", "asdf jkl", "xylophonic zebra manifesto", "blorptastic fnord",
    "the weather in paris tomorrow", "how to bake sourdough bread", "tax return deadline extension",
    "best running shoes for flat feet", "replace a bicycle chain", "football transfer rumours",
    "cheap flights to lisbon", "how many grams in a cup of flour", "python list comprehension syntax",
    "the", "and", "hello", "ok", "tomato soup recipe", "car insurance quote",
]


def main() -> None:
    rng = random.Random(2)
    corpus = list(SENTENCES)
    for _ in range(4):
        corpus += [s for s in english(rng, 200, 200).split(". ") if len(s.split()) > 3][:30]
    emb = default_embedder()
    docs = emb.embed(corpus)
    best = {}
    for name, queries in (("related", RELATED), ("unrelated", UNRELATED)):
        q = emb.embed(queries)
        best[name] = sorted(float(x) for x in np.max(q @ docs.T, axis=1))
    lo, hi = max(best["unrelated"]), min(best["related"])
    print(json.dumps({
        "corpus_sentences": len(corpus),
        "related_best_cosine": {"min": round(hi, 3), "median": round(statistics.median(best["related"]), 3)},
        "unrelated_best_cosine": {"max": round(lo, 3), "median": round(statistics.median(best["unrelated"]), 3)},
        "separating_range": [round(lo, 3), round(hi, 3)] if lo < hi else None,
        "SEMANTIC_MIN": SEMANTIC_MIN,
        "unrelated_above_threshold": sum(x >= SEMANTIC_MIN for x in best["unrelated"]),
        "related_below_threshold": sum(x < SEMANTIC_MIN for x in best["related"]),
    }, indent=2))


if __name__ == "__main__":
    main()
