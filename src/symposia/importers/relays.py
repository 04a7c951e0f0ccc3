"""A post-import pass: the relays in an imported transcript's host text, checked against its own answers.

A host that relays a voice ("Qwen responded: '…'") quotes an earlier answer of the same session. After
a transcript is parsed — whatever the importer — :func:`check_relays` judges every quote in every host
turn (question, observation, table, closing) against the answers that came *before* it, with the
same check a live host gets (:mod:`symposia.dialogue.attribution`). Nothing is refused (the words were
written long ago); mismatches are flagged instead: the turn gets ``relay_misquote`` in its flags and
``meta["relays"]`` (each quote, its verdict, the real words), the session the ``relay_misquote`` flag.
A typography-only difference — the seed's "not ON the altar, but AS the altar" for Qwen's "not *on*
the altar, but *as* the altar" — is verbatim; a changed word is not.

It takes the parsed session only, so it runs after any importer.
"""

from __future__ import annotations

from symposia.dialogue.attribution import Speaker, TextCheck, check_host_text, check_row
from symposia.importers.records import ImportedSession, ImportedTurn, add_flag

__all__ = ["FLAG", "check_relays"]

FLAG = "relay_misquote"


def _speakers(answers: list[tuple[int, ImportedTurn]]) -> list[Speaker]:
    texts: dict[str, dict[int, str]] = {}
    names: dict[str, set[str]] = {}
    for i, t in answers:
        if t.error is not None or not t.text.strip():
            continue
        texts.setdefault(t.voice, {})[i] = t.text
        family = t.meta.get("family")
        names.setdefault(t.voice, set()).update(
            n for n in (t.voice, t.voice_name, t.voice_name.split(" ")[0], family if isinstance(family, str) else "")
            if n)
    return [Speaker(v, tuple(sorted(names[v])), texts[v]) for v in texts]


def _check(t: ImportedTurn, speakers: list[Speaker]) -> TextCheck:
    rows = t.meta.get("rows")
    if t.kind in ("formulations", "synthesis") and isinstance(rows, list):
        check = TextCheck()
        members = {sp.voice for sp in speakers}
        for r in rows:
            if not isinstance(r, dict):
                continue
            said = str(r.get("quote") if t.kind == "formulations" else r.get("formulation", ""))
            voice = r.get("voice")
            if isinstance(voice, str) and voice in members:
                check = check + check_row(voice, said, speakers)
        return check
    return check_host_text(t.text, speakers)


def check_relays(imp: ImportedSession) -> int:
    """Judge the quotes of every host turn against the answers before it; returns the mismatches flagged."""
    if imp.format == "native":  # our own export: every host turn was checked when it was written
        return 0
    answers: list[tuple[int, ImportedTurn]] = []
    mismatches = 0
    for i, t in enumerate(imp.turns):
        if t.role == "voice" and t.kind != "ranking":
            answers.append((i, t))
            continue
        if t.role != "host" or not t.text.strip():
            continue
        check = _check(t, _speakers(answers))
        if not check.findings:
            continue
        t.meta["relays"] = [{**f.to_dict(), "turn_index": f.turn_id} for f in check.findings]
        bad = check.refused
        if bad:
            mismatches += len(bad)
            add_flag(t, FLAG)
    if mismatches:
        imp.flag(FLAG)
    return mismatches
