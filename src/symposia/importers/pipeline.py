"""From files to stored sessions: read, parse, measure coverage, validate, store, report.

Parsing is pure (:func:`parse_sessions`: bytes -> sessions), storing is separate
(:func:`store_session`), and :func:`import_paths` does both for files and folders and reports on
each file, one entry per file. Importing is idempotent: a session's id is ``import-<sha256[:12]>``
of the file's bytes (of one conversation's content, for exports that hold many), and a session
already imported is skipped (an import cut short is completed). A file that cannot be read, is
not a dialogue, or holds something that may not be stored is reported with a one-line reason and
nothing of it is written; the rest of the folder still imports.
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
from symposia.importers import (
    anthropic,
    arena,
    chat,
    chatgpt,
    council,
    heteronyms,
    labelled,
    llm_logs,
    moltbook,
    native,
    openwebui,
    reception,
    roles,
    single,
    symposium,
)
from symposia.importers.coverage import Coverage, json_prose, measure_lines, measure_texts
from symposia.importers.dates import FoundDate, date_from_filename, parse_date_precise
from symposia.importers.encoding import decode_bytes, repair_mojibake
from symposia.importers.markdown import fenced_mask, is_rule, split_front_matter
from symposia.importers.records import NO_DATE, ImportedSession, ImportedTurn, ImportError_, NotADialogue
from symposia.importers.relays import check_relays
from symposia.importers.speakers import VoiceMapper
from symposia.importers.validation import check_records
from symposia.records import FinishReason, SessionRecord, TurnRecord, TurnRequest, TurnResult
from symposia.render.transcript import PROVENANCE_HEADING

__all__ = [
    "MAX_BYTES",
    "SUFFIXES",
    "ImportReport",
    "Parsed",
    "ReportEntry",
    "collect",
    "import_paths",
    "parse_bytes",
    "parse_file",
    "parse_json_data",
    "parse_sessions",
    "parse_text",
    "records_for",
    "session_id_for",
    "store_session",
]

SUFFIXES = (".md", ".markdown", ".txt", ".json", ".db", ".sqlite", ".sqlite3")
MAX_BYTES = 256 * 1024 * 1024  # larger files are refused unread (a transcript is rarely over a few MB)
FORMATS_DOC = "docs/FORMATS.md"
Status = Literal["imported", "flagged", "skipped", "refused", "failed"]


# -- report ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportEntry:
    """What happened to one file (one line of the report)."""

    path: str
    status: Status
    reason: str = ""
    session_id: str | None = None  # the first session the file became
    format: str | None = None
    kind: str | None = None
    turns: int = 0
    flags: tuple[str, ...] = ()
    sessions: tuple[str, ...] = ()  # every session id the file became (exports hold many)
    coverage: float | None = None
    unplaced: tuple[tuple[int, str], ...] = ()  # lines of the source not placed in any turn
    details: dict[str, Any] = field(default_factory=dict)  # e.g. the JSON fields used

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "status": self.status, "reason": self.reason, "session_id": self.session_id,
                "sessions": list(self.sessions), "format": self.format, "kind": self.kind, "turns": self.turns,
                "flags": list(self.flags),
                "coverage": None if self.coverage is None else round(self.coverage, 4),
                "unplaced": [{"line": n, "text": t} for n, t in self.unplaced], **self.details}


@dataclass
class ImportReport:
    """Every file looked at, each once: imported, imported with flags, skipped, refused, or failed (with why)."""

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
    def refused(self) -> list[ReportEntry]:
        return self._of("refused")

    @property
    def failed(self) -> list[ReportEntry]:
        return self._of("failed")

    def counts(self) -> dict[str, int]:
        return {s: len(self._of(s)) for s in ("imported", "flagged", "skipped", "refused", "failed")}

    def to_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "counts": self.counts(), "files": [e.to_dict() for e in self.entries]}


# -- parsing ---------------------------------------------------------------------------------------

_MARKDOWN_FORMATS = (
    ("single", single.detect, single.parse),
    ("council", council.detect, council.parse),
    ("chat", chat.detect, chat.parse),
    ("arena", arena.detect, arena.parse),
    ("reception", reception.detect, reception.parse),
    ("symposium", symposium.detect, symposium.parse),
    ("heteronyms", heteronyms.detect, heteronyms.parse),
    ("labelled", labelled.detect, labelled.parse),
)


def _front_meta(front: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if isinstance(v, str | int | float | bool) or v is None else str(v)) for k, v in front.items()}


def _subtitle(body: str) -> str | None:
    """The italic line under the ``# `` title (``*2026-01-09 — Automated via …*``), if any."""
    lines = iter(body.split("\n"))
    for line in lines:
        if line.startswith("# "):
            nxt = next((ln for ln in lines if ln.strip()), "")
            m = re.fullmatch(r"\s*[*_]([^*_\n].*?)[*_]\s*", nxt)
            return m.group(1).strip() if m else None
        if line.strip():
            return None
    return None


def _split_provenance(body: str) -> tuple[str, str | None]:
    """Our own export's ``## Provenance`` block (session id, date, host, models asked and reported):
    metadata about the transcript, not a turn of it. Returns the body without it, and the block."""
    lines = body.split("\n")
    mask = fenced_mask(lines)
    start = next((i for i, (ln, f) in enumerate(zip(lines, mask, strict=True))
                  if not f and ln.strip() == PROVENANCE_HEADING), None)
    if start is None:
        return body, None
    end = next((j for j in range(start + 1, len(lines)) if is_rule(lines[j]) or lines[j].startswith("#")), len(lines))
    block = "\n".join(lines[start:end]).strip("\n")
    if "**Session:**" not in block:
        return body, None
    return "\n".join(lines[:start] + lines[end:]), block


def parse_text(text: str, *, filename: str, catalog: Catalog) -> ImportedSession:
    """A Markdown/text transcript (already decoded and repaired) -> its session; raises ImportError_."""
    front, body = split_front_matter(text)
    body, provenance = _split_provenance(body)
    imp: ImportedSession | None = None
    for _name, detect, parse in _MARKDOWN_FORMATS:
        if detect(body):
            imp = parse(body, filename=filename, mapper=VoiceMapper(catalog), front=front)
            break
    assert imp is not None  # the labelled reader detects everything, and refuses what has no speakers
    if provenance:
        imp.meta["provenance"] = provenance
        dm = re.search(r"\*\*Date:\*\*\s*(.+)", provenance)
        when, day = parse_date_precise(dm.group(1)) if dm else (None, False)
        if when is not None and imp.meta.get("date_source") in ("filename", "unknown"):  # the document first
            imp.created_at = when
            for key in ("date", "date_precision"):
                imp.meta.pop(key, None)
            imp.meta.update(FoundDate(when, "provenance", day).meta())
    sub = _subtitle(body)
    if sub and "subtitle" not in imp.meta and sub != imp.plan.get("subtitle"):
        imp.meta["subtitle"] = sub
    if front:
        imp.meta["front_matter"] = _front_meta(front)
    return imp


def parse_json_data(data: Any, *, filename: str, catalog: Catalog) -> list[ImportedSession]:
    """A JSON transcript or export -> its sessions; raises ImportError_."""
    mapper = VoiceMapper(catalog)
    if native.detect_json(data):
        return [native.parse_json(data, filename=filename)]
    if chat.detect_json(data):
        return [chat.parse_json(data, filename=filename, mapper=mapper)]
    if arena.detect_json(data):
        return [arena.parse_json(data, filename=filename, mapper=mapper)]
    for detect, parse in ((chatgpt.detect_json, chatgpt.parse_json), (anthropic.detect_json, anthropic.parse_json),
                          (openwebui.detect_json, openwebui.parse_json), (moltbook.detect_json, moltbook.parse_json)):
        if detect(data):
            return parse(data, filename=filename, mapper=mapper)
    return [roles.parse_json(data, filename=filename, mapper=mapper)]


@dataclass
class Parsed:
    """One file, parsed: its sessions and how much of its prose they hold."""

    sessions: list[ImportedSession]
    coverage: Coverage
    text: str  # the decoded text ("" for a database)


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ImportError_(f"JSON that does not parse: {e.msg} at line {e.lineno} column {e.colno}") from None
    except RecursionError:
        raise ImportError_("JSON nested too deeply to be a transcript (thousands of levels)") from None


def parse_file(raw: bytes, *, filename: str, catalog: Catalog) -> Parsed:
    """The bytes of one file -> its sessions and coverage, with encoding repairs flagged; raises ImportError_."""
    if raw.startswith(llm_logs.MAGIC):
        sessions = llm_logs.parse_db(raw, filename=filename, mapper=VoiceMapper(catalog))
        return Parsed(sessions, measure_texts([t for s in sessions for t in s.prose or []], sessions), "")
    text, repaired = decode_bytes(raw)
    is_json = filename.lower().endswith(".json") or (
        not filename.lower().endswith((".md", ".markdown", ".txt")) and text.lstrip()[:1] in ("{", "["))
    if is_json:
        data = _load_json(text)
        sessions = parse_json_data(data, filename=filename, catalog=catalog)
        given = [s.prose for s in sessions]
        texts = [t for p in given for t in p or []] if all(p is not None for p in given) else json_prose(data)
        coverage = measure_texts(texts, sessions)
    else:
        sessions = [parse_text(text, filename=filename, catalog=catalog)]
        front, body = split_front_matter(text)
        offset = text[: len(text) - len(body)].count("\n")
        coverage = measure_lines(body, sessions, first_line=offset + 1)
    for imp in sessions:
        if repaired is not None:
            imp.flag("mojibake_repaired")
            imp.meta["encoding_repaired"] = repaired
        check_relays(imp)  # the host's relays against the session's own earlier answers (flags, never refuses)
        if any(t.flags and "broken_table" in t.flags for t in imp.turns):
            imp.flag("broken_table")
    return Parsed(sessions, coverage, text)


def parse_sessions(raw: bytes, *, filename: str, catalog: Catalog) -> list[ImportedSession]:
    """The bytes of one file -> every session in it; raises ImportError_."""
    return parse_file(raw, filename=filename, catalog=catalog).sessions


def parse_bytes(raw: bytes, *, filename: str, catalog: Catalog) -> ImportedSession:
    """The bytes of a file that holds one session -> that session; raises ImportError_."""
    sessions = parse_sessions(raw, filename=filename, catalog=catalog)
    if len(sessions) != 1:
        raise ImportError_(f"the file holds {len(sessions)} conversations; read it with parse_sessions")
    return sessions[0]


def session_id_for(raw: bytes) -> str:
    """The id an imported file gets: derived from its content, so importing it again finds it."""
    return f"import-{hashlib.sha256(raw).hexdigest()[:12]}"


def _sid(raw: bytes, imp: ImportedSession) -> str:
    if imp.session_id:
        return imp.session_id
    if imp.source_key:
        return f"import-{hashlib.sha256(imp.source_key.encode()).hexdigest()[:12]}"
    return session_id_for(raw)


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
    if isinstance(out.get("parent"), int):  # a reply's parent (threads): its index -> its archive id
        out["parent_turn_id"] = index_ids.get(out["parent"])
    return out


def store_session(archive: Archive, imp: ImportedSession, session_id: str,
                  source: dict[str, Any] | None = None) -> tuple[str, int]:
    """Write an imported session; returns (what happened, turns added).

    "created" for a new session, "resumed" when an earlier import of it was cut short (the missing
    turns are added), "exists" when it is already complete (nothing is written). Every record is
    validated first, so a file that holds something that may not be stored writes nothing.

    Turns are stored in order, so an import cut short holds a prefix of them: resuming skips as
    many as are stored. (Matching stored turns by step key would drop a retry that shares its step
    key with the failed attempt before it.)
    """
    session, records = records_for(imp, session_id, source)
    check_records(session, records)
    existing = archive.query("SELECT status, meta_json FROM sessions WHERE id = ?", (session_id,))
    outcome = "created"
    stored: list[TurnRecord] = []
    if existing:
        # An import stays "running" until its last turn is stored; any other state is finished.
        if existing[0]["status"] != "running" or not json.loads(existing[0]["meta_json"]).get("imported"):
            return "exists", 0
        outcome = "resumed"
        stored = archive.session_turns(session_id)
    else:
        archive.create_session(replace(session, status="running"))
    index_ids: dict[int, int] = {}
    old_ids: dict[int, int] = {}
    added = 0
    new_id: int
    for i, (t, rec) in enumerate(zip(imp.turns, records, strict=True)):
        if i < len(stored):
            done = stored[i].id
            new_id = done if done is not None else 0
        else:
            new_id = archive.add_turn(replace(rec, meta=_repoint(rec.meta, index_ids, old_ids)))
            added += 1
        index_ids[i] = new_id
        if t.record is not None and t.record.id is not None:
            old_ids[t.record.id] = new_id
    archive.set_session_status(session_id, session.status)
    return outcome, added


# -- files -----------------------------------------------------------------------------------------


def collect(paths: Iterable[str | Path]) -> tuple[list[Path], list[ReportEntry]]:
    """Files to import (folders searched recursively for SUFFIXES), and entries for paths that are not."""
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


def _undated(imp: ImportedSession, path: Path) -> None:
    """The document named no date: the filename's, else the file's mtime (flagged)."""
    in_name = date_from_filename(path.name)
    if in_name is not None:
        m = FoundDate(in_name, "filename", in_name.hour == in_name.minute == in_name.second == 0)
        imp.created_at = in_name
        imp.meta.update(m.meta())
        return
    imp.created_at = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    imp.meta["date_source"] = "file_mtime"
    imp.flag("date_unknown")


def _twins(parsed: dict[Path, tuple[bytes, Parsed]]) -> dict[Path, Path]:
    """Markdown files whose JSON twin (same folder and name) holds the same chat or arena: md -> json."""
    out: dict[Path, Path] = {}
    for path, (_, p) in parsed.items():
        if path.suffix.lower() != ".json" or len(p.sessions) != 1 or p.sessions[0].format not in ("chat", "arena"):
            continue
        for suffix in (".md", ".markdown"):
            md = path.with_suffix(suffix)
            if md in parsed and parsed[md][1].sessions[0].format == p.sessions[0].format:
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


def _analysis_partner(path: Path, text: str, parsed: dict[Path, tuple[bytes, Parsed]]) -> Path | None:
    """The arena transcript an analysis file (``…-analysis.md``, ``# … Analysis``) belongs to."""
    first = next((ln for ln in text.split("\n") if ln.startswith("# ")), "")
    if "analysis" not in path.stem.lower() and "analysis" not in first.lower():
        return None
    stem = re.sub(r"[-_ ]*analysis.*$", "", path.stem, flags=re.IGNORECASE)
    for other, (_, p) in parsed.items():
        if p.sessions[0].format == "arena" and other.parent == path.parent and other.stem.startswith(stem) and stem:
            return other
    return None


def _read(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ImportError_(f"{size / 1e6:.0f} MB: larger than the {MAX_BYTES // 10**6} MB a transcript can be")
        return path.read_bytes()
    except OSError as e:
        raise ImportError_(f"cannot read the file: {e.strerror or e}") from None


def import_paths(archive: Archive | None, catalog: Catalog, paths: Sequence[str | Path], *,
                 dry_run: bool = False) -> ImportReport:
    """Import every transcript under ``paths`` into ``archive``; report each file (nothing silently dropped).

    A file that cannot be read or parsed is reported as failed with the reason, a file with no
    speakers as refused ("not a dialogue"), and the rest still import. With ``dry_run`` everything
    is parsed and reported but nothing is written (``archive`` may then be None: nothing exists yet).
    """
    if archive is None and not dry_run:
        raise ValueError("an archive is needed unless dry_run")
    report = ImportReport(dry_run=dry_run)
    files, problems = collect(paths)
    # Never import the archive being written to (a PostgreSQL archive's path is a URL, not a file).
    if archive is not None and isinstance(archive.path, Path) and str(archive.path) != ":memory:":
        own = archive.path.resolve()
        files = [f for f in files if f.resolve() != own]
    report.entries += problems
    parsed: dict[Path, tuple[bytes, Parsed]] = {}
    failures: dict[Path, tuple[Status, str, str]] = {}  # path -> (status, reason, text for analysis files)
    for path in files:
        raw = b""
        try:
            raw = _read(path)
            p = parse_file(raw, filename=path.name, catalog=catalog)
        except NotADialogue as e:
            failures[path] = ("refused", str(e), raw.decode("utf-8", errors="replace"))
            continue
        except ImportError_ as e:
            failures[path] = ("failed", str(e), "")
            continue
        except RecursionError:
            failures[path] = ("failed", "nested too deeply to be read", "")
            continue
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as e:  # a parser bug or odd file
            failures[path] = ("failed", f"could not be parsed ({type(e).__name__}: {e})", "")
            continue
        for imp in p.sessions:
            if imp.created_at == NO_DATE:
                _undated(imp, path)
        parsed[path] = (raw, p)
    twins = _twins(parsed)
    for md, js in twins.items():
        _adopt_host(parsed[js][1].sessions[0], parsed[md][1].sessions[0])
    attached: dict[Path, Path] = {}
    for path, (_status, _reason, text) in list(failures.items()):
        partner = _analysis_partner(path, text, parsed) if text else None
        if partner is not None:
            parsed[partner][1].sessions[0].meta.setdefault("analysis_files", []).append(
                {"path": str(path), "text": repair_mojibake(text)[0]})
            attached[path] = partner
            del failures[path]
    seen: dict[str, Path] = {}
    for path in files:
        if path in failures:
            status, reason, _ = failures[path]
            report.entries.append(ReportEntry(str(path), status, reason))
            continue
        if path in attached:
            raw_a, p_a = parsed[attached[path]]
            report.entries.append(ReportEntry(str(path), "skipped", f"analysis notes, kept with {attached[path].name}",
                                              session_id=_sid(raw_a, p_a.sessions[0])))
            continue
        if path in twins:
            raw_j, p_j = parsed[twins[path]]
            why = f"twin of {twins[path].name}, which holds the same conversation (with usage); imported from there"
            report.entries.append(ReportEntry(str(path), "skipped", why, session_id=_sid(raw_j, p_j.sessions[0])))
            continue
        raw, p = parsed[path]
        report.entries.append(_import_file(archive, path, raw, p, twins, seen, dry_run))
    return report


def _import_file(archive: Archive | None, path: Path, raw: bytes, p: Parsed, twins: dict[Path, Path],
                 seen: dict[str, Path], dry_run: bool) -> ReportEntry:
    """Store (or, dry, only check) every session of one parsed file; the file's report line."""
    sids = [_sid(raw, imp) for imp in p.sessions]
    flags = list(dict.fromkeys(f for imp in p.sessions for f in imp.all_flags()))
    turns = sum(len(imp.turns) for imp in p.sessions)
    first = p.sessions[0]
    details: dict[str, Any] = {}
    if "fields_used" in first.meta:
        details["fields_used"] = first.meta["fields_used"]
    if not p.coverage.ok:
        flags.append("coverage_low")
    for imp in p.sessions:
        imp.meta["coverage"] = round(p.coverage.ratio, 4)

    def entry(status: Status, reason: str) -> ReportEntry:
        return ReportEntry(str(path), status, reason, session_id=sids[0], format=first.format, kind=first.kind,
                           turns=turns, flags=tuple(flags), sessions=tuple(sids), coverage=p.coverage.ratio,
                           unplaced=p.coverage.unplaced, details=details)

    if turns == 0:
        return entry("failed", "no turns found: nothing to import")
    if len(sids) == 1 and sids[0] in seen:
        return entry("skipped", f"same content as {seen[sids[0]].name}")
    source = {"source_path": str(path.resolve()), "sha256": hashlib.sha256(raw).hexdigest()}
    twin = next((m for m, j in twins.items() if j == path), None)
    if twin is not None:
        source["twin_path"] = str(twin.resolve())
    new = 0
    resumed = 0
    try:
        for imp, sid in zip(p.sessions, sids, strict=True):
            if sid in seen or not imp.turns:
                continue
            seen[sid] = path
            if dry_run:
                check_records(*records_for(imp, sid, source))
                exists = archive is not None and bool(archive.query("SELECT 1 FROM sessions WHERE id = ?", (sid,)))
                new += not exists
                continue
            assert archive is not None
            outcome, _added = store_session(archive, imp, sid, source)
            new += outcome != "exists"
            resumed += outcome == "resumed"
    except ImportError_ as e:
        return entry("failed", f"not stored: {e}")
    except ArchiveError as e:
        return entry("failed", f"cannot store it: {e}")
    if new == 0:
        return entry("skipped", "already imported")
    parts = []
    if len(sids) > 1:
        parts.append(f"{new} of {len(sids)} conversations new")
    if resumed:
        parts.append("completed an import cut short")
    if not p.coverage.ok:
        count = len(p.coverage.unplaced)
        parts.append(f"{count} line{'s' if count != 1 else ''} not placed")
    elif flags:
        parts.append("flags: " + ", ".join(flags))
    return entry("flagged" if flags else "imported", "; ".join(parts))
