"""Publishing a session and its queue: decide post-now or wait, send, verify, record every attempt.

Every attempt is a row of the archive's ``publications`` table (:mod:`symposia.publish.store`, the
repository; this module is the workflow). Moltbook allows one
post per 30 minutes: a post asked for sooner, or answered with 429, is queued with ``not_before`` and
:func:`send_queue` sends what is due. A row is written *before* the post is sent, marked as failed
with "interrupted", so a crash mid-send can never lead the queue to post the same thing twice.

The verification challenge is answered at most once per post, automatically only when
:func:`symposia.publish.challenge.solve` is confident; otherwise the person is asked (``ask``) or
the row waits as ``awaiting_verification`` for :func:`verify_pending`. Ten failed answers in a row
suspend a Moltbook account, so nothing here ever loops on it.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from symposia.archive.store import Archive
from symposia.errors import MoltbookError, PublishError, SymposiaError
from symposia.publish.challenge import parse_answer, solve
from symposia.publish.content import PARTS, build_post, post_length
from symposia.publish.moltbook import MoltbookClient, Verification, resolve_api_key
from symposia.publish.store import MIN_INTERVAL, TARGET, Publication, PublicationStore
from symposia.records import utcnow
from symposia.redact import redact

__all__ = [
    "AskAnswer",
    "Clock",
    "PublishResult",
    "QueueReport",
    "publish_session",
    "send_queue",
    "verify_pending",
]

INTERRUPTED = ("interrupted while sending: check Moltbook for the post before publishing it again "
               "(symposia does not resend it on its own)")

Clock = Callable[[], datetime]
AskAnswer = Callable[[str, str], str | None]
"""``ask(challenge_text, why_unsure) -> answer`` typed by the person, or None to leave it waiting."""


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
    store = PublicationStore(archive)
    session = archive.get_session(session_id)
    post = build_post(session, archive.session_turns(session.id), part=part, title=title, submolt=submolt)
    base: dict[str, Any] = {"session_id": session.id, "title": post.title, "submolt": post.submolt,
                            "part": post.part, "content": post.content, "shortened": post.shortened}
    if client is None:
        return PublishResult(status="preview", message="Nothing was posted; add --yes (confirm=True) to publish. "
                             "Posts are public and stay in public mirrors.", **base)
    t = clock()
    slot = store.earliest_slot(t)
    if slot is not None:
        pub_id = store.insert(post, status="queued", now=t, not_before=slot)
        return PublishResult(
            status="queued", publication_id=pub_id, not_before=slot, **base,
            message=f"Queued (Moltbook allows one post per 30 minutes): it can go at {_when(slot)}; "
                    f"run `symposia publish --queue` then.",
        )
    pub_id = store.insert(post, status="failed", now=t, error=INTERRUPTED)
    return _send(store, client, pub_id, base, clock, ask)


def _send(store: PublicationStore, client: MoltbookClient, pub_id: int, base: dict[str, Any], clock: Clock,
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
            store.update(pub_id, t, status="queued", not_before=not_before, error=str(e))
            return result("queued", f"Moltbook is rate limiting: queued until {_when(not_before)}; run "
                          f"`symposia publish --queue` then.", not_before=not_before, error=str(e))
        store.update(pub_id, t, status="failed", error=str(e))
        return result("failed", f"Not posted: {e}", error=str(e))
    t = clock()
    got = {"post_id": reply.post_id, "url": reply.url}
    if reply.verification is None:
        store.update(pub_id, t, status="posted", posted_at=t, error=None, **got)
        return result("posted", f"Posted: {reply.url or reply.post_id}", **got)
    v = reply.verification
    store.update(pub_id, t, status="awaiting_verification", posted_at=t, verification_code=v.code,
            challenge_text=v.challenge, expires_at=v.expires_at,
            error="verification challenge not answered yet", **got)
    return _answer(store, client, pub_id, v, result, clock, ask, got, answer=None)


def _answer(store: PublicationStore, client: MoltbookClient, pub_id: int, v: Verification,
            result: Callable[..., PublishResult], clock: Clock, ask: AskAnswer | None, got: dict[str, Any],
            answer: str | None) -> PublishResult:
    """Answer a post's challenge once: given ``answer``, the solver's when confident, else the person's."""
    expired_msg = ("the verification code expired before it was answered, so the post was not published; "
                   "publish it again to get a new challenge")
    if v.expires_at is not None and v.expires_at <= clock():
        store.update(pub_id, clock(), status="failed", error=expired_msg)
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
                store.update(pub_id, clock(), status="failed", error=expired_msg)
                return result("failed", f"Not published: {expired_msg}.", error=expired_msg, **got)
    if answer is None:
        until = f" before {_when(v.expires_at)}" if v.expires_at else ""
        msg = (f"The post waits for its verification challenge ({why}). Answer it{until} with "
               f"`symposia publish --verify {pub_id} --answer NUMBER`. Challenge: {v.challenge}")
        store.update(pub_id, clock(), status="awaiting_verification", error=f"not answered: {why}")
        return result("awaiting_verification", msg, verification_code=v.code, challenge=v.challenge, **got)
    try:
        vr = client.verify(v.code, answer)
    except MoltbookError as e:
        err = (f"the verification answer {answer} may not have arrived ({e}); it is not resent "
               f"automatically (ten failed answers suspend the account)")
        store.update(pub_id, clock(), status="failed", error=err)
        return result("failed", f"Not verified: {err}.", error=err, answer=answer, **got)
    t = clock()
    if vr.ok:
        store.update(pub_id, t, status="posted", error=None)
        return result("posted", f"Posted and verified: {got.get('url') or got.get('post_id')}", answer=answer,
                      **got)
    if vr.expired:
        err = f"{expired_msg} (Moltbook: {vr.message})"
    else:
        err = (f"Moltbook refused the verification answer {answer} ({vr.message}); it is not retried, since ten "
               f"failed answers in a row suspend the account. The post stays unverified")
    store.update(pub_id, t, status="failed", error=err)
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
    store = PublicationStore(archive)
    sent: list[PublishResult] = []
    mb: MoltbookClient | None = client
    owned = False
    try:
        for p in store.waiting():
            t = clock()
            if p.not_before is not None and p.not_before > t:
                break
            last = store.last_post_time()
            if last is not None and t < last + MIN_INTERVAL:
                store.update(p.id, t, not_before=last + MIN_INTERVAL)
                break
            if mb is None:
                mb, owned = _open_client(None)
            store.update(p.id, t, status="failed", error=INTERRUPTED, not_before=None)
            r = _send(store, mb, p.id, _base_of(p), clock, ask)
            sent.append(r)
            if r.status == "queued":
                break
    finally:
        if owned and mb is not None:
            mb.close()
    return QueueReport(sent=sent, waiting=store.waiting())


def verify_pending(archive: Archive, publication_id: int, answer: str | None = None, *,
                   client: MoltbookClient | None = None, now: Clock | None = None,
                   ask: AskAnswer | None = None) -> PublishResult:
    """Answer the challenge of a post left ``awaiting_verification`` (once; ``answer`` like "18" or "18.00")."""
    clock = now or utcnow
    store = PublicationStore(archive)
    p = store.get(publication_id)
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
        return _answer(store, mb, p.id, v, result, clock, ask, {"post_id": p.post_id, "url": p.url},
                       answer=formatted)
    finally:
        if owned:
            mb.close()


