"""Markdown views of archive searches: hits, origins, recalled formulations, quote verdicts, near-dups.

Pure functions from results to GFM text. Recorded text is shown escaped on one line, so what
renders is exactly the characters recorded (quotes meant to be copied stay exact) and no model
output can break the structure around it; matched words are in bold.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from symposia import markdown as md
from symposia.archive.neardups import SharedSpan
from symposia.archive.origin import OriginReport, Place, QuoteVerdict
from symposia.archive.recall import Formulation
from symposia.archive.search import Hit, SearchResult

__all__ = ["near_dups_markdown", "origin_markdown", "recall_markdown", "search_markdown", "verify_markdown"]

def _when(iso: str) -> str:
    try:
        dt = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _keep_spaces(snippet: str, spans: Sequence[tuple[int, int]]) -> str:
    """Highlight with spaces preserved: the snippet is cut at span edges, each piece escaped alone."""
    if not spans:
        return md.inline(snippet)
    parts: list[str] = []
    pos = 0
    for a, b in spans:
        if a < pos:
            continue
        parts.append(md.escape(snippet[pos:a]))
        parts.append("**" + md.escape(snippet[a:b]) + "**")
        pos = b
    parts.append(md.escape(snippet[pos:]))
    return " ".join("".join(parts).split())


def _who(role: str, voice_name: str, voice: str) -> str:
    return f"{md.inline(voice_name)} ({md.code(voice)}, {role})"


def _where(turn_id: int, session_id: str, kind: str, seq: int | None = None) -> str:
    seq_part = f" · seq {seq}" if seq is not None else ""
    kind_part = f" ({md.inline(kind)})" if kind else ""
    return f"turn {turn_id} · session {md.code(session_id)}{kind_part}{seq_part}"


# -- search ------------------------------------------------------------------------------------------------


def _hit(i: int, h: Hit) -> str:
    extra = [f"via {'+'.join(h.via)}"]
    if h.similarity is not None:
        extra.append(f"similarity {h.similarity:.2f}")
    if h.field != "answer":
        extra.append(f"in the {h.field} it was shown")
    return "\n".join([
        f"## {i}. {_who(h.role, h.voice_name, h.voice)} — {_when(h.started_at)}",
        "",
        f"{_where(h.turn_id, h.session_id, h.session_kind, h.seq)} · {' · '.join(extra)}",
        "",
        f"> {_keep_spaces(h.snippet, h.highlights) or '*(empty)*'}",
        "",
    ])


def search_markdown(result: SearchResult) -> str:
    """The ``symposia search`` view."""
    mode = {"fts": "full text", "semantic": "by meaning", "hybrid": "full text + meaning (hybrid)"}[result.mode]
    head = [f"# Search: {md.inline(result.query)}", "", f"*{len(result.hits)} result(s), {mode}.*"]
    if result.unembedded and result.mode != "fts":
        head.append(f"*{result.unembedded} turn(s) not embedded yet: run `symposia index` to search them by "
                    f"meaning.*")
    head += [f"*{md.inline(n)}*" for n in result.notes]
    if not result.hits:
        head += ["", "Nothing found. Try fewer words, `word*` for prefixes, or `--semantic`."]
    body = [_hit(i, h) for i, h in enumerate(result.hits, start=1)]
    return "\n".join(head) + "\n\n" + "\n".join(body)


# -- origin ------------------------------------------------------------------------------------------------


def _place_line(p: Place) -> str:
    how = p.match if p.similarity is None else f"{p.match} {p.similarity:.2f}"
    return (f"{_when(p.started_at)} · {_who(p.role, p.voice_name, p.voice)} · "
            f"{_where(p.turn_id, p.session_id, p.session_kind, p.seq)} · {how}")


def origin_markdown(report: OriginReport) -> str:
    """The ``symposia origin`` view."""
    out = [f"# Origin of “{md.inline(report.phrase)}”", ""]
    if report.origin is None:
        out.append("No voice said this in the archive" +
                   (" (verbatim, nearly, or in other words)." if report.semantic else
                    " (verbatim or nearly; paraphrases were not checked: the embedding model is unavailable)."))
    else:
        o = report.origin
        out += [f"**First said by a voice:** {_place_line(o)}", "", f"> {md.inline(o.text)}", "",
                f"*Exposure: {report.origin_label}.*"]
    out += ["", "## Uses, in time order", ""]
    if not report.uses:
        out.append("No other use.")
    for u in report.uses:
        note = " *(before any voice said it)*" if u.before_origin and u.place.role != "voice" else (
            " *(earlier)*" if u.before_origin else "")
        out.append(f"- **{u.label}**{note} — {_place_line(u.place)}")
        out.append(f"  > {md.inline(u.place.text)}")
    return "\n".join(out) + "\n"


# -- recall ----------------------------------------------------------------------------------------------


def recall_markdown(voice: str, formulations: Sequence[Formulation]) -> str:
    """The ``symposia recall`` view."""
    name = formulations[0].voice_name if formulations else voice
    out = [f"# {md.inline(name)}: distinctive formulations", "",
           "*Verbatim from the record; ranked by how rarely the rest of the archive uses their words.*", ""]
    if not formulations:
        out.append("Nothing quotable found.")
    for i, f in enumerate(formulations, start=1):
        times = f" · in {f.times} turns" if f.times > 1 else ""
        out += [f"{i}. “{md.inline(f.text)}”",
                f"   — {_when(f.started_at)} · {_where(f.turn_id, f.session_id, f.session_kind)}"
                f" · {f.kind} · score {f.score:.2f}{times}"]
    return "\n".join(out) + "\n"


# -- verify-quote ---------------------------------------------------------------------------------------


def verify_markdown(v: QuoteVerdict) -> str:
    """The ``symposia verify-quote`` view."""
    headline = {
        "verbatim": f"✔ Verbatim: {md.inline(v.voice)} said this.",
        "paraphrase": f"≈ Not verbatim: {md.inline(v.voice)} said something close (the real text is below).",
        "someone_else": f"✘ Not {md.inline(v.voice)}: someone else said this.",
        "not_found": "✘ Not found: nobody in the archive said this"
                     + ("" if v.semantic else " (verbatim or nearly; paraphrases by meaning were not checked)"),
    }[v.status]
    out = [f"# Did {md.inline(v.voice)} say “{md.inline(v.quote)}”?", "", f"**{headline}**", ""]
    for title, places in (("Where", v.verbatim), (f"What {md.inline(v.voice)} really said", v.paraphrase),
                          ("Said by", v.others)):
        if places:
            out += [f"## {title}", ""]
            for p in places:
                out += [f"- {_place_line(p)}", f"  > {md.inline(p.text)}"]
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


# -- near-duplicates ------------------------------------------------------------------------------------


def near_dups_markdown(spans: Sequence[SharedSpan], min_words: int) -> str:
    """The ``symposia near-dups`` view."""
    out = [f"# Spans of {min_words}+ words shared by different voices", ""]
    if not spans:
        out.append("None found.")
    for i, s in enumerate(spans, start=1):
        kind = "verbatim" if s.verbatim else "near-verbatim"
        out += [f"## {i}. {s.words} words, {kind}, {len(s.voices)} voices", ""]
        for p in s.places:
            shown = " · **echo** (it had been shown this)" if p.shown else ""
            out += [f"- {_when(p.started_at)} · {md.inline(p.voice_name)} ({md.code(p.voice)}) · "
                    f"{_where(p.turn_id, p.session_id, p.session_kind)}{shown}",
                    f"  > {md.inline(p.text)}"]
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
