"""Markdown views of archive searches: hits, origins, recalled formulations, quote verdicts, near-dups.

Pure functions from results to GFM text. Recorded text is shown escaped on one line, so what
renders is exactly the characters recorded (quotes meant to be copied stay exact) and no model
output can break the structure around it; matched words are in bold.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from symposia import markdown as md
from symposia.archive.exposure import Place, Use
from symposia.archive.neardups import SharedSpan
from symposia.archive.origin import EXIT_CODES, OriginReport, QuoteVerdict, exposure_line
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


def _source(title: str, source_file: str | None) -> str:
    out = f"“{md.inline(title)}”" if title else ""
    if source_file:
        out += (" · " if out else "") + f"from {md.code(source_file)}"
    return out


def _hit(i: int, h: Hit) -> str:
    extra = [f"via {'+'.join(h.via)}"]
    if h.similarity is not None:
        extra.append(f"similarity {h.similarity:.2f}")
    if h.field != "answer":
        extra.append(f"in the {h.field} it was shown")
    model = f" · {md.code(h.model)}" if h.model else ""
    src = _source(h.session_title, h.source_file)
    return "\n".join([
        f"## {i}. {_who(h.role, h.voice_name, h.voice)}{model} — {_when(h.started_at)}",
        "",
        f"{_where(h.turn_id, h.session_id, h.session_kind, h.seq)}{' · ' + src if src else ''} · "
        f"{' · '.join(extra)}",
        "",
        f"> {_keep_spaces(h.snippet, h.highlights) or '*(empty)*'}",
        "",
    ])


def search_markdown(result: SearchResult) -> str:
    """The ``symposia search`` view: real matches, counted; meaning-only finds apart, labelled."""
    mode = {"fts": "full text", "semantic": "by meaning",
            "hybrid": "hybrid: full-text matches ranked with meaning"}[result.mode]
    about = "" if result.total_exact else "about "
    if result.mode == "semantic":
        count = f"{len(result.hits)} turn(s) close in meaning"
    else:
        count = f"{about}{result.total:,} matching turn(s), {len(result.hits)} shown"
    head = [f"# Search: {md.inline(result.query)}", "", f"*{count}; {mode}.*"]
    if result.unembedded and result.mode != "fts":
        head.append(f"*{result.unembedded} turn(s) not embedded yet: run `symposia index` to search them by "
                    f"meaning.*")
    head += [f"*{md.inline(n)}*" for n in result.notes]
    if not result.hits:
        head += ["", "**Nothing found.** Try fewer words, `word*` for prefixes, or `--semantic`."]
    body = [_hit(i, h) for i, h in enumerate(result.hits, start=1)]
    if result.related:
        body += ["# Related by meaning only (these do not contain the query's words)", ""]
        body += [_hit(i, h) for i, h in enumerate(result.related, start=1)]
    return "\n".join(head) + "\n\n" + "\n".join(body)


# -- origin ------------------------------------------------------------------------------------------------


def _place_line(p: Place) -> str:
    how = "verbatim" if p.match == "verbatim" else f"paraphrase, score {p.score:.2f}" + (
        f", meaning {p.meaning:.2f}" if p.meaning is not None else "")
    who = _who(p.role, p.voice_name, p.voice)
    if p.character:
        who = f"{md.inline(p.character)} (a character voiced by {who})"
    model = f" · {md.code(p.model)}" if p.model else ""
    when = p.day + " (date only)" if p.date_only else _when(p.started_at)
    src = _source(p.session_title, p.source_file)
    return (f"{when} · {who}{model} · {_where(p.turn_id, p.session_id, p.session_kind, p.seq)}"
            f"{' · ' + src if src else ''} · {how}")


def _use_lines(u: Use, note: str = "") -> list[str]:
    return [f"- **{exposure_line(u.exposure)}**{note} — {_place_line(u.place)}", f"  > {md.inline(u.place.text)}"]


def origin_markdown(report: OriginReport) -> str:
    """The ``symposia origin`` view."""
    out = [f"# Origin of “{md.inline(report.phrase)}”", ""]
    if report.origin is None:
        out.append(f"**No origin:** {md.inline(report.why_none or 'nobody said it')}.")
    else:
        o = report.origin.place
        out += [f"**First said by a voice, unprompted:** {_place_line(o)}", "", f"> {md.inline(o.text)}"]
        if report.ties:
            out += ["", "**Tied on the same day** (the record has dates without times):"]
            for u in report.ties:
                out += _use_lines(u)
    out += ["", f"## Verbatim uses, in time order ({report.total} in all)", ""]
    if not report.uses:
        out.append("No other use.")
    for u in report.uses:
        out += _use_lines(u, " *(earlier)*" if u.before_origin else "")
    if len(report.uses) + (1 if report.origin else 0) + len(report.ties) < report.total:
        out.append(f"- … {report.total - len(report.uses) - len(report.ties) - (1 if report.origin else 0)} more")
    out += ["", "## Close paraphrases (not the same words)", ""]
    if not report.paraphrases:
        out.append("None found" + ("." if report.semantic else
                                   " (lexically; meaning was not used: the archive has no embeddings or the "
                                   "model is unavailable)."))
    for u in report.paraphrases:
        out += _use_lines(u)
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
    first = v.mine[0].exposure if v.mine else None
    shown = ""
    if first is not None and first.echo:
        shown = (f" (said earlier in the session by {md.inline(first.shown_by or '')}, turn {first.shown_turn})"
                 if first.shown_turn else " (it was in the messages it was sent)")
    headline = {
        "verbatim": f"✔ Verbatim and original: {md.inline(v.voice)} said this, unprompted.",
        "echoed": f"↩ Verbatim but echoed: {md.inline(v.voice)} said this only after being shown it{shown}.",
        "paraphrase": f"≈ Paraphrase: {md.inline(v.voice)} said something close, not these words (below).",
        "someone_else": f"✘ Said by someone else, not by {md.inline(v.voice)}"
                        + (" (it only quoted them)." if v.mine else "."),
        "not_found": "✘ Not found: nobody in the archive said this, or anything close"
                     + ("" if v.semantic else " (lexically; meaning was not checked)") + ".",
    }[v.status]
    out = [f"# Did {md.inline(v.voice)} say “{md.inline(v.quote)}”?", "", f"**{headline}**",
           f"*exit code {EXIT_CODES[v.status]}*", ""]
    for title, uses in (("Where", v.mine), (f"What {md.inline(v.voice)} really said", v.paraphrase),
                        ("Said by", v.others)):
        if uses:
            out += [f"## {title}", ""]
            for u in uses:
                out += _use_lines(u)
            out.append("")
    if v.reversed is not None:
        out += ["## Close, but says the opposite", "", f"- {_place_line(v.reversed)}",
                f"  > {md.inline(v.reversed.text)}", ""]
    return "\n".join(out).rstrip("\n") + "\n"


# -- near-duplicates ------------------------------------------------------------------------------------


def near_dups_markdown(spans: Sequence[SharedSpan], min_words: int) -> str:
    """The ``symposia near-dups`` view."""
    out = [f"# Spans of {min_words}+ words shared by different voices", ""]
    if not spans:
        out.append("None found.")
    for i, s in enumerate(spans, start=1):
        kind = "verbatim" if s.verbatim else "near-verbatim"
        out += [f"## {i}. {s.words} words, {kind}, {len(s.voices)} voices (found by {s.method})", ""]
        for p in s.places:
            shown = " · **echo** (it had been shown this)" if p.shown else ""
            title = f" · “{md.inline(p.session_title)}”" if p.session_title else ""
            when = f"{p.started_at[:10]} (date only)" if p.date_only else _when(p.started_at)
            out += [f"- {when} · {md.inline(p.voice_name)} ({md.code(p.voice)}) · "
                    f"{_where(p.turn_id, p.session_id, p.session_kind)}{title}{shown}",
                    f"  > {md.inline(p.text)}"]
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
