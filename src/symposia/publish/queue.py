"""Publishing a session and its queue: decide post-now or wait, send, verify, record every attempt.

Every attempt is a row of the archive's ``publications`` table (migration m004). Moltbook allows one
post per 30 minutes: a post asked for sooner, or answered with 429, is queued with ``not_before`` and
:func:`send_queue` sends what is due. A row is written *before* the post is sent, marked as failed
with "interrupted", so a crash mid-send can never lead the queue to post the same thing twice.

The verification challenge is answered at most once per post, automatically only when
:func:`symposia.publish.challenge.solve` is confident; otherwise the person is asked (``ask``) or
the row waits as ``awaiting_verification`` for :func:`verify_pending`. Ten failed answers in a row
suspend a Moltbook account, so nothing here ever loops on it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from symposia.archive.store import Archive
from symposia.codec import datetime_from_iso, datetime_to_iso
from symposia.errors import ArchiveError, SymposiaError
from symposia.publish.challenge import parse_answer, solve
from symposia.publish.content import PARTS, Post, PublishError, build_post, post_length
from symposia.publish.moltbook import MoltbookClient, MoltbookError, Verification, resolve_api_key
from symposia.records import utcnow
from symposia.redact import redact

__all__ = [
    "MIN_INTERVAL",
    "AskAnswer",
    "Clock",
    "Publication",
    "PublishResult",
    "QueueReport",
    "last_post_time",
    "publications",
    "publish_session",
    "send_queue",
    "verify_pending",
    "waiting_posts",
]

TARGET = "moltbook"
MIN_INTERVAL = timedelta(minutes=30)
INTERRUPTED = ("interrupted while sending: check Moltbook for the post before publishing it again "
               "(symposia does not resend it on its own)")

Clock = Callable[[], datetime]
AskAnswer = Callable[[str, str], str | None]
"""``ask(challenge_text, why_unsure) -> answer`` typed by the person, or None to leave it waiting."""


@dataclass(frozen=True)
class Publication:
    """One row of ``publications``."""

    id: int
    session_id: str
    target: str
    submolt: str
    title: str
    part: str
    content: str
    content_sha256: str
    status: str
    created_at: datetime
    post_id: str | None = None
    url: str | None = None
    posted_at: datetime | None = None
    not_before: datetime | None = None
    error: str | None = None
    verification_code: str | None = None
    challenge_text: str | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class PublishResult:
    """What happened: ``status`` is ``preview`` (nothing sent), ``posted``, ``queued``, ``failed`` or
    ``awaiting_verification``; ``message`` says it in a sentence."""

    status: str
    message: str
    session_id: str
    title: str
    submolt: str
    part: str
    content: str
    shortened: bool = False
    publication_id: int | None = None
    post_id: str | None = None
    url: str | None = None
    not_before: datetime | None = None
    error: str | None = None
    verification_code: str | None = None
    challenge: str | None = None
    answer: str | None = None

    @property
    def length(self) -> int:
        return post_length(self.content)

    @property
    def ok(self) -> bool:
        return self.status in ("preview", "posted", "queued")


@dataclass(frozen=True)
class QueueReport:
    """What :func:`send_queue` sent now, and what still waits (soonest first)."""

    sent: list[PublishResult]
    waiting: list[Publication]


# -- the archive -----------------------------------------------------------------------------------


def _iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return datetime_to_iso((dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC))


def _dt(text: Any) -> datetime | None:
    return datetime_from_iso(text) if isinstance(text, str) and text else None


@contextmanager
def _write(archive: Archive) -> Iterator[sqlite3.Connection]:
    """One write transaction on the archive (errors name the publication, not a bare sqlite message)."""
    try:
        with archive.transaction() as conn:
            yield conn
    except sqlite3.Error as e:
        raise ArchiveError(f"cannot record the publication in {archive.path}: {e}") from e


def _clean(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else _iso(value) if isinstance(value, datetime) else value


def _insert(archive: Archive, post: Post, *, status: str, now: datetime, not_before: datetime | None = None,
            error: str | None = None) -> int:
    with _write(archive) as c:
        cur = c.execute(
            "INSERT INTO publications (session_id, target, submolt, title, part, content, content_sha256, status,"
            " created_at, not_before, error, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [_clean(v) for v in (post.session_id, TARGET, post.submolt, post.title, post.part, post.content,
                                 post.sha256, status, now, not_before, error, now)],
        )
        assert cur.lastrowid is not None
        return cur.lastrowid


_UPDATABLE = frozenset({"status", "post_id", "url", "posted_at", "not_before", "error", "verification_code",
                        "challenge_text", "expires_at"})


def _update(archive: Archive, pub_id: int, now: datetime, **fields: Any) -> None:
    unknown = set(fields) - _UPDATABLE
    if unknown:
        raise ValueError(f"not a publications column: {sorted(unknown)}")
    cols = sorted(fields)
    sets = ", ".join(f"{c} = ?" for c in [*cols, "updated_at"])
    with _write(archive) as c:
        c.execute(f"UPDATE publications SET {sets} WHERE id = ?",
                  [*(_clean(fields[c]) for c in cols), _iso(now), pub_id])


def _row(r: sqlite3.Row) -> Publication:
    return Publication(
        id=int(r["id"]), session_id=r["session_id"], target=r["target"], submolt=r["submolt"], title=r["title"],
        part=r["part"], content=r["content"], content_sha256=r["content_sha256"], status=r["status"],
        created_at=_dt(r["created_at"]) or utcnow(), post_id=r["post_id"], url=r["url"],
        posted_at=_dt(r["posted_at"]), not_before=_dt(r["not_before"]), error=r["error"],
        verification_code=r["verification_code"], challenge_text=r["challenge_text"],
        expires_at=_dt(r["expires_at"]),
    )


def publications(archive: Archive, session_id: str | None = None) -> list[Publication]:
    """Every publication attempt (of one session, if given), oldest first."""
    if session_id is None:
        rows = archive.query("SELECT * FROM publications ORDER BY id")
    else:
        rows = archive.query("SELECT * FROM publications WHERE session_id = ? ORDER BY id", (session_id,))
    return [_row(r) for r in rows]


def get_publication(archive: Archive, pub_id: int) -> Publication:
    rows = archive.query("SELECT * FROM publications WHERE id = ?", (pub_id,))
    if not rows:
        raise PublishError(f"no publication with id {pub_id} in {archive.path}")
    return _row(rows[0])


def waiting_posts(archive: Archive) -> list[Publication]:
    """Queued posts, soonest first."""
    rows = archive.query("SELECT * FROM publications WHERE target = ? AND status = 'queued' "
                         "ORDER BY not_before, id", (TARGET,))
    return [_row(r) for r in rows]


def last_post_time(archive: Archive) -> datetime | None:
    """When Moltbook last accepted a post from us (the rate limit counts from it)."""
    rows = archive.query("SELECT MAX(posted_at) FROM publications WHERE target = ? AND posted_at IS NOT NULL",
                         (TARGET,))
    return _dt(rows[0][0]) if rows else None


def _earliest_slot(archive: Archive, now: datetime) -> datetime | None:
    """None when a post may go now; else when it may (after the last post, behind waiting ones)."""
    candidates: list[datetime] = []
    last = last_post_time(archive)
    if last is not None and now < last + MIN_INTERVAL:
        candidates.append(last + MIN_INTERVAL)
    waiting = waiting_posts(archive)
    if waiting:
        # behind the waiting posts, keeping their order
        latest = max(p.not_before or now for p in waiting)
        candidates.append(max(now, latest + MIN_INTERVAL))
    return max(candidates) if candidates else None


# -- the flow --------------------------------------------------------------------------------------


def _when(dt: datetime) -> str:
    return f"{dt.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _open_client(client: MoltbookClient | None) -> tuple[MoltbookClient, bool]:
    if client is not None:
        return client, False
    return MoltbookClient(resolve_api_key()), True


def _register_key_quietly() -> None:
    """Register the user's Moltbook key as a secret (if there is one) before any text is built."""
    with suppress(SymposiaError):  # preview works without a key, or with an unreadable keys file
        resolve_api_key()


def publish_session(archive: Archive, session_id: str, *, submolt: str = "general", title: str | None = None,
                    part: str = "full", confirm: bool = False, client: MoltbookClient | None = None,
                    to: str = TARGET, now: Clock | None = None, ask: AskAnswer | None = None) -> PublishResult:
    """Post a session to Moltbook — or, without ``confirm``, only show what would be posted.

    Queues the post (``status="queued"``) when the last one was under 30 minutes ago or Moltbook
    answers 429; ``client`` defaults to one built from ``MOLTBOOK_API_KEY`` and the official API.
    """
    if to != TARGET:
        raise PublishError(f"unknown target {to!r}: symposia publishes to moltbook only")
    if part not in PARTS:
        raise PublishError(f"unknown part {part!r}: use one of {', '.join(PARTS)}")
    clock = now or utcnow
    mb, owned = client, False
    if mb is None:
        if confirm:
            # before anything is recorded: a missing key or a refused base URL stops here
            mb, owned = _open_client(None)
        else:
            _register_key_quietly()
    try:
        return _publish(archive, session_id, mb if confirm else None, submolt=submolt, title=title, part=part,
                        clock=clock, ask=ask)
    finally:
        if owned and mb is not None:
            mb.close()


def _publish(archive: Archive, session_id: str, client: MoltbookClient | None, *, submolt: str,
             title: str | None, part: str, clock: Clock, ask: AskAnswer | None) -> PublishResult:
    """Build the post; without a client (not confirmed) that is all: a preview."""
    session = archive.get_session(session_id)
    post = build_post(session, archive.session_turns(session.id), part=part, title=title, submolt=submolt)
    base: dict[str, Any] = {"session_id": session.id, "title": post.title, "submolt": post.submolt,
                            "part": post.part, "content": post.content, "shortened": post.shortened}
    if client is None:
        return PublishResult(status="preview", message="Nothing was posted; add --yes (confirm=True) to publish. "
                             "Posts are public and stay in public mirrors.", **base)
    t = clock()
    slot = _earliest_slot(archive, t)
    if slot is not None:
        pub_id = _insert(archive, post, status="queued", now=t, not_before=slot)
        return PublishResult(
            status="queued", publication_id=pub_id, not_before=slot, **base,
            message=f"Queued (Moltbook allows one post per 30 minutes): it can go at {_when(slot)}; "
                    f"run `symposia publish --queue` then.",
        )
    pub_id = _insert(archive, post, status="failed", now=t, error=INTERRUPTED)
    return _send(archive, client, pub_id, base, clock, ask)


def _send(archive: Archive, client: MoltbookClient, pub_id: int, base: dict[str, Any], clock: Clock,
          ask: AskAnswer | None) -> PublishResult:
    """Send one recorded post (its row already says "interrupted") and record what came of it."""
    def result(status: str, message: str, **kw: Any) -> PublishResult:
        return PublishResult(status=status, message=redact(message), publication_id=pub_id, **base, **kw)

    try:
        reply = client.create_post(submolt=base["submolt"], title=base["title"], content=base["content"])
    except MoltbookError as e:
        t = clock()
        if e.kind == "rate_limited":
            not_before = t + timedelta(seconds=e.retry_after or MIN_INTERVAL.total_seconds())
            _update(archive, pub_id, t, status="queued", not_before=not_before, error=str(e))
            return result("queued", f"Moltbook is rate limiting: queued until {_when(not_before)}; run "
                          f"`symposia publish --queue` then.", not_before=not_before, error=str(e))
        _update(archive, pub_id, t, status="failed", error=str(e))
        return result("failed", f"Not posted: {e}", error=str(e))
    t = clock()
    got = {"post_id": reply.post_id, "url": reply.url}
    if reply.verification is None:
        _update(archive, pub_id, t, status="posted", posted_at=t, error=None, **got)
        return result("posted", f"Posted: {reply.url or reply.post_id}", **got)
    v = reply.verification
    _update(archive, pub_id, t, status="awaiting_verification", posted_at=t, verification_code=v.code,
            challenge_text=v.challenge, expires_at=v.expires_at,
            error="verification challenge not answered yet", **got)
    return _answer(archive, client, pub_id, v, result, clock, ask, got, answer=None)


def _answer(archive: Archive, client: MoltbookClient, pub_id: int, v: Verification,
            result: Callable[..., PublishResult], clock: Clock, ask: AskAnswer | None, got: dict[str, Any],
            answer: str | None) -> PublishResult:
    """Answer a post's challenge once: given ``answer``, the solver's when confident, else the person's."""
    expired_msg = ("the verification code expired before it was answered, so the post was not published; "
                   "publish it again to get a new challenge")
    if v.expires_at is not None and v.expires_at <= clock():
        _update(archive, pub_id, clock(), status="failed", error=expired_msg)
        return result("failed", f"Not published: {expired_msg}.", error=expired_msg, **got)
    why = ""
    if answer is None:
        sol = solve(v.challenge)
        answer, why = (sol.answer, "") if sol.confident else (None, sol.reason)
        if answer is None and ask is not None:
            typed = ask(v.challenge, why)
            answer = parse_answer(typed) if typed else None
            if answer is None:
                why = "no number was given"
            if v.expires_at is not None and v.expires_at <= clock():
                _update(archive, pub_id, clock(), status="failed", error=expired_msg)
                return result("failed", f"Not published: {expired_msg}.", error=expired_msg, **got)
    if answer is None:
        until = f" before {_when(v.expires_at)}" if v.expires_at else ""
        msg = (f"The post waits for its verification challenge ({why}). Answer it{until} with "
               f"`symposia publish --verify {pub_id} --answer NUMBER`. Challenge: {v.challenge}")
        _update(archive, pub_id, clock(), status="awaiting_verification", error=f"not answered: {why}")
        return result("awaiting_verification", msg, verification_code=v.code, challenge=v.challenge, **got)
    try:
        vr = client.verify(v.code, answer)
    except MoltbookError as e:
        err = (f"the verification answer {answer} may not have arrived ({e}); it is not resent "
               f"automatically (ten failed answers suspend the account)")
        _update(archive, pub_id, clock(), status="failed", error=err)
        return result("failed", f"Not verified: {err}.", error=err, answer=answer, **got)
    t = clock()
    if vr.ok:
        _update(archive, pub_id, t, status="posted", error=None)
        return result("posted", f"Posted and verified: {got.get('url') or got.get('post_id')}", answer=answer,
                      **got)
    if vr.expired:
        err = f"{expired_msg} (Moltbook: {vr.message})"
    else:
        err = (f"Moltbook refused the verification answer {answer} ({vr.message}); it is not retried, since ten "
               f"failed answers in a row suspend the account. The post stays unverified")
    _update(archive, pub_id, t, status="failed", error=err)
    return result("failed", f"Not published: {err}.", error=err, answer=answer, **got)


def _base_of(p: Publication) -> dict[str, Any]:
    return {"session_id": p.session_id, "title": p.title, "submolt": p.submolt, "part": p.part,
            "content": p.content}


def send_queue(archive: Archive, *, client: MoltbookClient | None = None, now: Clock | None = None,
               ask: AskAnswer | None = None) -> QueueReport:
    """Send the queued posts that are due, oldest first, one per 30 minutes; report what still waits.

    A due post that the 30-minute rule still holds back gets a later ``not_before`` instead.
    """
    clock = now or utcnow
    sent: list[PublishResult] = []
    mb: MoltbookClient | None = client
    owned = False
    try:
        for p in waiting_posts(archive):
            t = clock()
            if p.not_before is not None and p.not_before > t:
                break
            last = last_post_time(archive)
            if last is not None and t < last + MIN_INTERVAL:
                _update(archive, p.id, t, not_before=last + MIN_INTERVAL)
                break
            if mb is None:
                mb, owned = _open_client(None)
            _update(archive, p.id, t, status="failed", error=INTERRUPTED, not_before=None)
            r = _send(archive, mb, p.id, _base_of(p), clock, ask)
            sent.append(r)
            if r.status == "queued":
                break
    finally:
        if owned and mb is not None:
            mb.close()
    return QueueReport(sent=sent, waiting=waiting_posts(archive))


def verify_pending(archive: Archive, publication_id: int, answer: str | None = None, *,
                   client: MoltbookClient | None = None, now: Clock | None = None,
                   ask: AskAnswer | None = None) -> PublishResult:
    """Answer the challenge of a post left ``awaiting_verification`` (once; ``answer`` like "18" or "18.00")."""
    clock = now or utcnow
    p = get_publication(archive, publication_id)
    if p.status != "awaiting_verification" or not p.verification_code:
        raise PublishError(f"publication {p.id} is {p.status}, not awaiting verification")
    formatted = None
    if answer is not None:
        formatted = parse_answer(answer)
        if formatted is None:
            raise PublishError(f"the answer must be a number (e.g. 18 or 18.00), not {answer!r}")
    v = Verification(code=p.verification_code, challenge=p.challenge_text or "", expires_at=p.expires_at)
    base = _base_of(p)

    def result(status: str, message: str, **kw: Any) -> PublishResult:
        return PublishResult(status=status, message=redact(message), publication_id=p.id, **base, **kw)

    mb, owned = _open_client(client)
    try:
        return _answer(archive, mb, p.id, v, result, clock, ask, {"post_id": p.post_id, "url": p.url},
                       answer=formatted)
    finally:
        if owned:
            mb.close()


