"""A session's transcript as HTML: the session page's section and the standalone page of ``export -f html``.

The Markdown transcript (:mod:`symposia.render.transcript`) is rendered through the sanitiser; each
footnote mark it puts after a quote from outside the session becomes a visible badge; the host's
drafts — accepted and refused, with what was wrong — sit behind a disclosure, never in the transcript.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

from markupsafe import Markup

from symposia.records import SessionRecord, TurnRecord
from symposia.render.transcript import transcript_markdown
from symposia.web.sanitize import markdown_to_html

__all__ = ["Draft", "drafts_of", "standalone_html", "transcript_html"]

_FOOTNOTE = re.compile(r"\[\^(\d{1,3})\]")


@dataclass(frozen=True)
class Draft:
    turn: TurnRecord
    step: str
    refused: bool
    problems: str


def drafts_of(turns: Sequence[TurnRecord]) -> list[Draft]:
    """The host's drafts and a chair's refused drafts, in order, with what was wrong with each."""
    out = []
    for t in sorted(turns, key=lambda x: x.seq):
        if (t.role == "host" and t.meta.get("kind") == "draft") or (t.role == "chair" and t.meta.get("refused")):
            out.append(Draft(t, str(t.meta.get("step", "")), bool(t.meta.get("refused")),
                             str(t.meta.get("problems") or "")))
    return out


def transcript_html(session: SessionRecord, turns: Sequence[TurnRecord]) -> Markup:
    """The transcript as sanitised HTML, outside-source footnote marks shown as badges."""
    safe = str(markdown_to_html(transcript_markdown(session, turns)))
    badge = r'<sup class="badge outside" title="quoted from outside this session: the record cannot vouch for it">' \
            r'outside source \1</sup>'
    return Markup(_FOOTNOTE.sub(badge, safe))  # noqa: S704 - the pattern inserts only our own static markup


def standalone_html(session: SessionRecord, turns: Sequence[TurnRecord]) -> str:
    """One self-contained page (styles inline, no script, nothing fetched): the transcript, then the
    host's drafts behind a disclosure."""
    style = resources.files("symposia.web").joinpath("static/style.css").read_text(encoding="utf-8")
    drafts = drafts_of(turns)
    parts = [f'<details class="drafts"><summary>The host\'s drafts ({len(drafts)}, '
             f'{sum(d.refused for d in drafts)} refused) — never sent, kept in the record</summary>']
    for d in drafts:
        verdict = "refused" if d.refused else "accepted"
        parts.append(f'<article class="draft draft-{verdict}"><h4>{html.escape(d.step)} · {verdict}</h4>'
                     f"<pre>{html.escape(d.turn.result.text)}</pre>"
                     + (f'<pre class="problems">{html.escape(d.problems)}</pre>' if d.problems else "")
                     + "</article>")
    parts.append("</details>")
    body = transcript_html(session, turns) + Markup("\n".join(parts) if drafts else "")
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(session.title or session.id)}</title><style>{style}</style></head>"
            f'<body><main class="transcript">{body}</main></body></html>\n')
