"""Import the transcripts users already have (docs/FORMATS.md) into the archive.

Parsing is pure (``parse_bytes`` / ``parse_text``: text -> :class:`ImportedSession`), storing is
separate (:func:`store_session`), and :func:`import_paths` does both for files and folders and
reports on each file. Importing is idempotent: a session's id is ``import-<sha256[:12]>`` of the
file's bytes, and a file already imported is skipped (an import cut short is completed).

    >>> from symposia.archive import Archive
    >>> from symposia.catalog import load_catalog
    >>> report = import_paths(Archive.open("archive.db"), load_catalog(), ["~/transcripts"])
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from symposia.archive import Archive
from symposia.catalog import Catalog
from symposia.codec import SessionStatus
from symposia.errors import ArchiveError
from symposia.importers import arena, chat, council, heteronyms, native, reception, single, symposium
from symposia.importers.common import (
    NO_DATE,
    ImportedSession,
    ImportedTurn,
    ImportError_,
    VoiceMapper,
    decode_bytes,
    repair_mojibake,
    split_front_matter,
)
from symposia.importers.relays import check_relays
from symposia.records import FinishReason, SessionRecord, TurnRecord, TurnRequest, TurnResult

__all__ = [
    "ImportError_",
    "ImportReport",
    "ImportedSession",
    "ImportedTurn",
    "ReportEntry",
    "collect",
    "import_paths",
    "parse_bytes",
    "parse_json_data",
    "parse_text",
    "records_for",
    "repair_mojibake",
    "session_id_for",
    "store_session",
]

SUFFIXES = (".md", ".markdown", ".json")
Status = Literal["imported", "flagged", "skipped", "failed"]


# -- report ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportEntry:
    """What happened to one file."""

    path: str
    status: Status
    reason: str = ""
    session_id: str | None = None
    format: str | None = None
    kind: str | None = None
    turns: int = 0
    flags: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "status": self.status, "reason": self.reason, "session_id": self.session_id,
                "format": self.format, "kind": self.kind, "turns": self.turns, "flags": list(self.flags)}


@dataclass
class ImportReport:
    """Every file looked at, each once: imported, imported with flags, skipped, or failed (with why)."""

    entries: list[ReportEntry] = field(default_factory=list)
    dry_run: bool = False

    def _of(self, status: Status) -> list[ReportEntry]:
        return [e for e in self.entries if e.status == status]

    @property
    def imported(self) -> list[ReportEntry]:
        return self._of("imported")

    @property
    def flagged(self) -> list[ReportEntry]:
        return self._of("flagged")

    @property
    def skipped(self) -> list[ReportEntry]:
        return self._of("skipped")

    @property
    def failed(self) -> list[ReportEntry]:
        return self._of("failed")

    def to_dict(self) -> dict[str, Any]:
        counts = {s: len(self._of(s)) for s in ("imported", "flagged", "skipped", "failed")}
        return {"dry_run": self.dry_run, "counts": counts, "files": [e.to_dict() for e in self.entries]}


# -- parsing ---------------------------------------------------------------------------------------

_MARKDOWN_FORMATS = (
    ("single", single.detect, single.parse),
    ("council", council.detect, council.parse),
    ("chat", chat.detect, chat.parse),
    ("arena", arena.detect, arena.parse),
    ("reception", reception.detect, reception.parse),
    ("symposium", symposium.detect, symposium.parse),
    ("heteronyms", heteronyms.detect, heteronyms.parse),
)


def parse_text(text: str, *, filename: str, catalog: Catalog) -> ImportedSession:
    """A Markdown transcript (already decoded and repaired) -> its session; raises ImportError_."""
    front, body = split_front_matter(text)
    for _name, detect, parse in _MARKDOWN_FORMATS:
        if detect(body):
            imp = parse(body, filename=filename, mapper=VoiceMapper(catalog), front=front)
            break
    else:
        raise ImportError_("no recognisable structure: not one of the transcript shapes in FORMATS.md "
                           "(no USER/ASSISTANT blocks, council, chat, arena, voice sections or speaker lines)")
    if front:
        imp.meta["front_matter"] = {k: (v if isinstance(v, str | int | float | bool) or v is None else str(v))
                                    for k, v in front.items()}
    return imp


def parse_json_data(data: Any, *, filename: str, catalog: Catalog) -> ImportedSession:
    """A JSON transcript (our export, a chat or an arena twin) -> its session; raises ImportError_."""
    mapper = VoiceMapper(catalog)
    if native.detect_json(data):
        return native.parse_json(data, filename=filename)
    if chat.detect_json(data):
        return chat.parse_json(data, filename=filename, mapper=mapper)
    if arena.detect_json(data):
        return arena.parse_json(data, filename=filename, mapper=mapper)
    raise ImportError_("JSON of an unknown shape: not a symposia export, a voices chat or an LLM arena file")


def parse_bytes(raw: bytes, *, filename: str, catalog: Catalog) -> ImportedSession:
    """The bytes of one file -> its session, with encoding repairs flagged; raises ImportError_."""
    text, repaired = decode_bytes(raw)
    if filename.lower().endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ImportError_(f"JSON that does not parse: {e.msg} at line {e.lineno} column {e.colno}") from None
        imp = parse_json_data(data, filename=filename, catalog=catalog)
    else:
        imp = parse_text(text, filename=filename, catalog=catalog)
    if repaired is not None:
        imp.flag("mojibake_repaired")
        imp.meta["encoding_repaired"] = repaired
    check_relays(imp)  # the host's relays against the session's own earlier answers (flags, never refuses)
    if any(t.flags and "broken_table" in t.flags for t in imp.turns):
        imp.flag("broken_table")
    return imp


def session_id_for(raw: bytes) -> str:
    """The id an imported file gets: derived from its content, so importing it again finds it."""
    return f"import-{hashlib.sha256(raw).hexdigest()[:12]}"


# -- records ---------------------------------------------------------------------------------------


def _turn_record(t: ImportedTurn, session_id: str, seq: int, when: datetime) -> TurnRecord:
    if t.record is not None:
        return replace(t.record, id=None, session_id=session_id)
    at = t.at or when
    meta = dict(t.meta)
    if t.kind is not None:
        meta["kind"] = t.kind
    if t.flags:
        meta["import_flags"] = list(t.flags)
    finish: FinishReason = "error" if t.error is not None else ("stop" if t.text.strip() else "unknown")
    return TurnRecord(
        id=None, session_id=session_id, seq=seq, voice=t.voice, voice_name=t.voice_name, provider="import",
        request=TurnRequest(model=t.model, messages=t.messages, system=t.system),
        result=TurnResult(text=t.text, finish_reason=finish, model_requested=t.model,
                          model_reported=t.model or None, usage=t.usage, latency_s=t.latency_s, error=t.error,
                          started_at=at, ended_at=at),
        role=t.role, step_key=f"import:{seq:04d}", meta=meta,
    )


def records_for(imp: ImportedSession, session_id: str,
                source: dict[str, Any] | None = None) -> tuple[SessionRecord, list[TurnRecord]]:
    """The session and turn records an imported session is stored as (turn ids not yet known)."""
    flags = imp.all_flags()
    meta = {**imp.meta, "imported": True, "format": imp.format, "flags": flags, **(source or {})}
    status: SessionStatus = "complete"
    original = imp.meta.get("original_status")
    if imp.format == "native" and original in ("failed", "interrupted"):
        status = original
    elif imp.format == "native" and original == "running":  # an export taken mid-run: nothing runs here
        status = "interrupted"
    session = SessionRecord(id=session_id, kind=imp.kind, title=imp.title, created_at=imp.created_at,
                            status=status, plan=dict(imp.plan), meta=meta)
    turns = [_turn_record(t, session_id, t.record.seq if t.record is not None else i, imp.created_at)
             for i, t in enumerate(imp.turns, 1)]
    return session, turns


_REFS = ("question_turn", "replaces", "turn")


def _repoint(meta: dict[str, Any], index_ids: dict[int, int], old_ids: dict[int, int]) -> dict[str, Any]:
    """Turn references in meta -> archive ids (``turn_index`` from parsers, old ids from our export)."""
    out = dict(meta)
    rows = out.get("rows")
    if isinstance(rows, list):
        new_rows = []
        for r in rows:
            if not isinstance(r, dict):
                new_rows.append(r)
                continue
            r = dict(r)
            if "turn_index" in r:
                idx = r.pop("turn_index")
                r = {"turn_id": index_ids.get(idx) if isinstance(idx, int) else None, **r}
            elif isinstance(r.get("turn_id"), int) and old_ids:
                r["turn_id"] = old_ids.get(r["turn_id"])
            new_rows.append(r)
        out["rows"] = new_rows
    if old_ids:
        for key in _REFS:
            if isinstance(out.get(key), int):
                out[key] = old_ids.get(out[key])
    return out


def store_session(archive: Archive, imp: ImportedSession, session_id: str,
                  source: dict[str, Any] | None = None) -> tuple[str, int]:
    """Write an imported session; returns (what happened, turns added).

    "created" for a new session, "resumed" when an earlier import of it was cut short (the missing
    turns are added), "exists" when it is already complete (nothing is written).
    """
    session, records = records_for(imp, session_id, source)
    existing = archive.query("SELECT status, meta_json FROM sessions WHERE id = ?", (session_id,))
    outcome = "created"
    if existing:
        # An import stays "running" until its last turn is stored; any other state is finished.
        if existing[0]["status"] != "running" or not json.loads(existing[0]["meta_json"]).get("imported"):
            return "exists", 0
        outcome = "resumed"
    else:
        archive.create_session(replace(session, status="running"))
    index_ids: dict[int, int] = {}
    old_ids: dict[int, int] = {}
    added = 0
    for i, (t, rec) in enumerate(zip(imp.turns, records, strict=True)):
        done = archive.find_turn(session_id, rec.step_key) if rec.step_key is not None else None
        if done is None:
            rec = replace(rec, meta=_repoint(rec.meta, index_ids, old_ids))
            new_id = archive.add_turn(rec)
            added += 1
        else:
            new_id = done.id if done.id is not None else 0
        index_ids[i] = new_id
        if t.record is not None and t.record.id is not None:
            old_ids[t.record.id] = new_id
    archive.set_session_status(session_id, session.status)
    return outcome, added


# -- files -----------------------------------------------------------------------------------------


def collect(paths: Iterable[str | Path]) -> tuple[list[Path], list[ReportEntry]]:
    """Files to import (folders searched recursively for .md/.json), and entries for paths that are not."""
    files: list[Path] = []
    problems: list[ReportEntry] = []
    for p in paths:
        path = Path(p).expanduser()
        if path.is_dir():
            found = sorted(f for f in path.rglob("*") if f.is_file() and f.suffix.lower() in SUFFIXES
                           and not any(part.startswith(".") for part in f.relative_to(path).parts))
            files += found
        elif path.is_file():
            files.append(path)
        else:
            problems.append(ReportEntry(str(path), "failed", "no such file or folder"))
    return list(dict.fromkeys(files)), problems


def _file_date(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)


def _twins(parsed: dict[Path, tuple[bytes, ImportedSession]]) -> dict[Path, Path]:
    """Markdown files whose JSON twin (same folder and name) holds the same chat or arena: md -> json."""
    out: dict[Path, Path] = {}
    for path, (_, imp) in parsed.items():
        if path.suffix.lower() != ".json" or imp.format not in ("chat", "arena"):
            continue
        for suffix in (".md", ".markdown"):
            md = path.with_suffix(suffix)
            if md in parsed and parsed[md][1].format == imp.format:
                out[md] = path
    return out


def _adopt_host(json_imp: ImportedSession, md_imp: ImportedSession) -> None:
    """A JSON twin names neither the host nor the title its Markdown shows: take them from there."""
    if md_imp.title:
        json_imp.title = md_imp.title
    host = md_imp.plan.get("host")
    if json_imp.format == "chat" and isinstance(host, dict) and host.get("name") not in (None, "Host"):
        json_imp.plan["host"] = dict(host)
        for t in json_imp.turns:
            if t.role == "host":
                t.voice_name = str(host["name"])


def _analysis_partner(path: Path, text: str, parsed: dict[Path, tuple[bytes, ImportedSession]]) -> Path | None:
    """The arena transcript an analysis file (``…-analysis.md``, ``# … Analysis``) belongs to."""
    first = next((ln for ln in text.split("\n") if ln.startswith("# ")), "")
    if "analysis" not in path.stem.lower() and "analysis" not in first.lower():
        return None
    stem = re.sub(r"[-_ ]*analysis.*$", "", path.stem, flags=re.IGNORECASE)
    for other, (_, imp) in parsed.items():
        if imp.format == "arena" and other.parent == path.parent and other.stem.startswith(stem) and stem:
            return other
    return None


def import_paths(archive: Archive, catalog: Catalog, paths: Sequence[str | Path], *,
                 dry_run: bool = False) -> ImportReport:
    """Import every transcript under ``paths`` into ``archive``; report each file (nothing silently dropped).

    A file that cannot be read or parsed is reported as failed with the reason, and the rest still
    import. With ``dry_run`` everything is parsed and reported but nothing is written.
    """
    report = ImportReport(dry_run=dry_run)
    files, problems = collect(paths)
    report.entries += problems
    parsed: dict[Path, tuple[bytes, ImportedSession]] = {}
    failures: dict[Path, tuple[str, str]] = {}  # path -> (reason, text for analysis files)
    for path in files:
        try:
            raw = path.read_bytes()
        except OSError as e:
            failures[path] = (f"cannot read the file: {e.strerror or e}", "")
            continue
        try:
            imp = parse_bytes(raw, filename=path.name, catalog=catalog)
        except ImportError_ as e:
            text = raw.decode("utf-8", errors="replace")
            failures[path] = (str(e), text)
            continue
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as e:  # a parser bug or odd file
            failures[path] = (f"could not be parsed ({type(e).__name__}: {e})", "")
            continue
        if imp.created_at == NO_DATE:
            imp.created_at = _file_date(path)
            imp.meta["date_source"] = "file_mtime"
            imp.flag("date_unknown")
        parsed[path] = (raw, imp)
    twins = _twins(parsed)
    for md, js in twins.items():
        _adopt_host(parsed[js][1], parsed[md][1])
    attached: dict[Path, Path] = {}
    for path, (_reason, text) in list(failures.items()):
        partner = _analysis_partner(path, text, parsed) if text else None
        if partner is not None:
            parsed[partner][1].meta.setdefault("analysis_files", []).append(
                {"path": str(path), "text": repair_mojibake(text)[0]})
            attached[path] = partner
            del failures[path]
    seen: dict[str, Path] = {}
    for path in files:
        if path in failures:
            report.entries.append(ReportEntry(str(path), "failed", failures[path][0]))
            continue
        if path in attached:
            report.entries.append(ReportEntry(str(path), "skipped", f"analysis notes, kept with {attached[path].name}",
                                              session_id=_sid(parsed[attached[path]])))
            continue
        if path in twins:
            why = f"twin of {twins[path].name}, which holds the same conversation (with usage); imported from there"
            report.entries.append(ReportEntry(str(path), "skipped", why, session_id=_sid(parsed[twins[path]])))
            continue
        raw, imp = parsed[path]
        sid = _sid(parsed[path])
        flags = tuple(imp.all_flags())

        def entry(status: Status, reason: str, path: Path = path, imp: ImportedSession = imp, sid: str = sid,
                  flags: tuple[str, ...] = flags) -> ReportEntry:
            return ReportEntry(str(path), status, reason, session_id=sid, format=imp.format, kind=imp.kind,
                               turns=len(imp.turns), flags=flags)

        if sid in seen:
            report.entries.append(entry("skipped", f"same content as {seen[sid].name}"))
            continue
        seen[sid] = path
        source = {"source_path": str(path.resolve()), "sha256": hashlib.sha256(raw).hexdigest()}
        twin = next((m for m, j in twins.items() if j == path), None)
        if twin is not None:
            source["twin_path"] = str(twin.resolve())
        if dry_run:
            exists = bool(archive.query("SELECT 1 FROM sessions WHERE id = ?", (sid,)))
            status: Status = "skipped" if exists else ("flagged" if flags else "imported")
            report.entries.append(entry(status, "already imported" if exists else "dry run: nothing written"))
            continue
        try:
            outcome, _added = store_session(archive, imp, sid, source)
        except ArchiveError as e:
            report.entries.append(entry("failed", f"cannot store it: {e}"))
            continue
        if outcome == "exists":
            report.entries.append(entry("skipped", "already imported"))
            continue
        reason = "completed an import cut short" if outcome == "resumed" else ""
        if flags:
            reason = (reason + "; " if reason else "") + "flags: " + ", ".join(flags)
        report.entries.append(entry("flagged" if flags else "imported", reason))
    return report


def _sid(item: tuple[bytes, ImportedSession]) -> str:
    raw, imp = item
    return imp.session_id or session_id_for(raw)
