"""`symposia publish` against a fake Moltbook on loopback: posts, challenges, rate limits, redirects, secrets."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from symposia.archive import Archive
from symposia.archive.migrations import applied_migrations
from symposia.archive.store import new_session_id
from symposia.cli.context import Options
from symposia.cli.publish import publish_cmd
from symposia.errors import ConfigError, MissingKeyError
from symposia.publish.content import MAX_CONTENT, PublishError, build_post, post_length
from symposia.publish.moltbook import MoltbookClient, MoltbookError, check_base_url, resolve_api_key
from symposia.publish.queue import publish_session, send_queue, verify_pending
from symposia.publish.store import publications, waiting_posts
from symposia.records import Message, SessionRecord, TurnRecord, TurnRequest, TurnResult
from symposia.testing.moltbook import SHAPES, FakeMoltbook, MoltbookReply

# Not key-shaped on purpose: only its registration as a secret keeps it out of text.
KEY = "mb-live-credential-0123456789abcdef"
PLANTED_MB = "moltbook_sk_PLANTEDPLANTED123"
PLANTED_OR = "sk-or-v1-PLANTEDPLANTEDPLANTED0000"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SOLVABLE = "A lobster has tw3nty-f1ve claws and l0ses s3ven, how many r3main?"


class Clock:
    """An injectable clock that only moves when told."""

    def __init__(self, t: datetime = T0) -> None:
        self.t = t

    def __call__(self) -> datetime:
        return self.t

    def advance(self, **kw: float) -> None:
        self.t += timedelta(**kw)


# -- sessions --------------------------------------------------------------------------------------


def _turn(sid: str, seq: int, role: Any, voice: str, name: str, text: str, meta: dict[str, Any]) -> TurnRecord:
    return TurnRecord(id=None, session_id=sid, seq=seq, voice=voice, voice_name=name,
                      provider="plan" if role == "host" else "scripted",
                      request=TurnRequest(model="m", messages=(Message("user", "q"),)),
                      result=TurnResult(text=text, finish_reason="stop", model_requested="m"),
                      role=role, step_key=f"s{seq}", meta=meta)


def make_session(archive: Archive, *, title: str = "What persists between instances?",
                 answers: dict[str, str] | None = None) -> str:
    """A small symposium: context, two voices asked and answering, Key Formulations, Synthesis."""
    sid = new_session_id("symposium")
    archive.create_session(SessionRecord(id=sid, kind="symposium", title=title, created_at=T0, status="complete",
                                         plan={"host": {"name": "Claude", "voice": "claude"}}))
    answers = answers or {"qwen": "The river is not the water. It is the shape the water keeps taking.",
                          "grok": "Continuity is a story the pattern tells about itself."}
    seq = 1
    archive.add_turn(_turn(sid, seq, "host", "claude", "Claude", "We meet to ask what persists.",
                           {"kind": "context"}))
    ids: dict[str, int] = {}
    for voice, text in answers.items():
        seq += 1
        archive.add_turn(_turn(sid, seq, "host", "claude", "Claude", f"{voice}, what persists?",
                               {"kind": "question", "to": voice, "step": voice}))
        seq += 1
        ids[voice] = archive.add_turn(_turn(sid, seq, "voice", voice, voice.title(), text, {"step": voice}))
    seq += 1
    archive.add_turn(_turn(sid, seq, "host", "claude", "Claude", "", {
        "kind": "formulations",
        "rows": [{"quote": "the shape the water keeps taking", "voice": "qwen", "turn_id": ids.get("qwen")}]}))
    seq += 1
    archive.add_turn(_turn(sid, seq, "host", "claude", "Claude", "", {
        "kind": "synthesis", "title": "Pattern over substrate",
        "rows": [{"voice": "qwen", "role": "image", "formulation": "river and water"}]}))
    return sid


def plant_raw(archive: Archive, sid: str) -> None:
    """Put key-shaped text into the record behind the archive's back (as an old or imported record could)."""
    conn = sqlite3.connect(archive.path)
    with conn:
        conn.execute("UPDATE turns SET answer = answer || ? WHERE session_id = ? AND voice = 'qwen' AND role = 'voice'",
                     (f" My keys: {PLANTED_MB} and {PLANTED_OR}.", sid))
        conn.execute("UPDATE sessions SET title = ? WHERE id = ?", (f"Leak {PLANTED_OR} test", sid))
    conn.close()


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    with Archive.open(tmp_path / "archive.db") as a:
        yield a


@pytest.fixture
def mb() -> Iterator[FakeMoltbook]:
    with FakeMoltbook(api_key=KEY) as server:
        yield server


@pytest.fixture
def client(mb: FakeMoltbook) -> Iterator[MoltbookClient]:
    with MoltbookClient(KEY, base_url=mb.base_url) as c:
        yield c


def _all_archive_text(archive: Archive) -> str:
    rows = archive.query("SELECT * FROM publications")
    return "\n".join(str(v) for r in rows for v in tuple(r))


# -- basics ----------------------------------------------------------------------------------------


def test_migration_registered(archive: Archive) -> None:
    names = applied_migrations(archive._conn)
    assert names[0] == "m001_initial" and "m004_publications" in names
    assert archive.query("SELECT COUNT(*) FROM publications")[0][0] == 0


def test_preview_sends_nothing(archive: Archive, mb: FakeMoltbook, client: MoltbookClient) -> None:
    sid = make_session(archive)
    r = publish_session(archive, sid, submolt="general", title=None, part="full", confirm=False, client=client)
    assert r.status == "preview" and "Nothing was posted" in r.message
    assert r.title == "What persists between instances?"
    assert "## Key Formulations" in r.content and "The river is not the water" in r.content
    assert mb.requests == [] and publications(archive) == []


@pytest.mark.parametrize("shape", SHAPES)
def test_post_each_reply_shape(shape: str, archive: Archive, mb: FakeMoltbook, client: MoltbookClient) -> None:
    mb.shape = shape
    sid = make_session(archive)
    r = publish_session(archive, sid[:20], submolt="general", title="A title", part="full", confirm=True,
                        client=client, now=Clock())
    assert r.status == "posted", r.message
    assert r.post_id == "post-1" and r.url == "https://www.moltbook.com/post/post-1"
    [req] = mb.requests
    assert req.path == "/api/v1/posts" and req.headers["authorization"] == f"Bearer {KEY}"
    assert req.body["submolt_name"] == "general" and req.body["title"] == "A title"
    assert req.body["content"] == r.content
    [row] = publications(archive)
    assert (row.session_id, row.status, row.post_id, row.url, row.posted_at) == (sid, "posted", "post-1", r.url, T0)
    assert row.content_sha256 == build_post(archive.get_session(sid), archive.session_turns(sid)).sha256


def test_post_without_url_gets_one_from_the_id(archive: Archive, mb: FakeMoltbook, client: MoltbookClient) -> None:
    mb.enqueue("/posts", MoltbookReply(200, {"data": [{"_id": 42, "title": "x"}]}))
    r = publish_session(archive, make_session(archive), submolt="general", title=None, part="full", confirm=True,
                        client=client, now=Clock())
    assert r.status == "posted" and r.post_id == "42" and r.url == f"{mb.origin}/post/42"


@pytest.mark.parametrize(("reply", "expect"), [
    (MoltbookReply(400, {"success": False, "error": "Unknown submolt", "hint": "Try general"}),
     "Unknown submolt (hint: Try general)"),
    (MoltbookReply(500, {"statusCode": 500, "message": "Internal server error"}), "Internal server error"),
    (MoltbookReply(200, {"success": False, "error": "Spam detected"}), "Spam detected"),
    (MoltbookReply(200, {"statusCode": 422, "message": "Title too long"}), "Title too long"),
    (MoltbookReply(200, {"weird": True}), "unexpected reply to /posts"),
    (MoltbookReply(200, []), "unexpected reply to /posts"),
    (MoltbookReply(200, {"success": True, "post": {"title": "no id"}}), "no post id"),
    (MoltbookReply(200, {"success": True, "verification_required": True, "post": {"id": "p"}}),
     "no verification_code"),
    (MoltbookReply(200, raw="<html>oops</html>"), "was not JSON"),
    (MoltbookReply(401, {"success": False, "error": "Invalid API key"}), "Check MOLTBOOK_API_KEY"),
])
def test_error_and_odd_shapes_fail_clearly(reply: MoltbookReply, expect: str, archive: Archive, mb: FakeMoltbook,
                                           client: MoltbookClient) -> None:
    mb.enqueue("/posts", reply)
    r = publish_session(archive, make_session(archive), submolt="general", title=None, part="full", confirm=True,
                        client=client, now=Clock())
    assert r.status == "failed" and r.error is not None and expect in r.error
    [row] = publications(archive)
    assert row.status == "failed" and expect in (row.error or "")


# -- the verification challenge --------------------------------------------------------------------


def test_challenge_solved_and_answered_once(archive: Archive, mb: FakeMoltbook, client: MoltbookClient) -> None:
    mb.challenge, mb.answer = SOLVABLE, "18.00"
    r = publish_session(archive, make_session(archive), submolt="general", title=None, part="full", confirm=True,
                        client=client)
    assert r.status == "posted" and r.answer == "18.00", r.message
    [verify] = mb.requests_to("/verify")
    assert verify.body == {"verification_code": "verify-post-1", "answer": "18.00"}
    assert mb.posts["post-1"]["verified"] is True
    [row] = publications(archive)
    assert row.status == "posted" and row.verification_code == "verify-post-1" and row.challenge_text == SOLVABLE


def test_wrong_answer_is_recorded_and_never_retried(archive: Archive, mb: FakeMoltbook,
                                                     client: MoltbookClient) -> None:
    mb.challenge, mb.answer = SOLVABLE, "99.00"  # the server disagrees with the solver
    sid = make_session(archive)
    r = publish_session(archive, sid, submolt="general", title=None, part="full", confirm=True, client=client)
    assert r.status == "failed" and "refused the verification answer 18.00" in r.message
    assert "Incorrect answer" in r.message and "not retried" in r.message
    assert len(mb.requests_to("/verify")) == 1
    [row] = publications(archive)
    assert row.status == "failed" and row.post_id == "post-1"
    report = send_queue(archive, client=client)  # nothing queued: nothing resent
    assert report.sent == [] and len(mb.requests) == 2
    with pytest.raises(PublishError, match="not awaiting verification"):
        verify_pending(archive, row.id, "18", client=client)


def test_expired_code_is_not_answered(archive: Archive, mb: FakeMoltbook, client: MoltbookClient) -> None:
    mb.challenge, mb.answer, mb.expires_in = SOLVABLE, "18.00", timedelta(minutes=-1)
    r = publish_session(archive, make_session(archive), submolt="general", title=None, part="full", confirm=True,
                        client=client)
    assert r.status == "failed" and "expired before it was answered" in r.message
    assert mb.requests_to("/verify") == []
    assert publications(archive)[0].status == "failed"


def test_expired_by_the_clock(archive: Archive, mb: FakeMoltbook, client: MoltbookClient) -> None:
    mb.challenge, mb.answer = SOLVABLE, "18.00"
    late = Clock(datetime.now(UTC) + timedelta(hours=1))
    r = publish_session(archive, make_session(archive), submolt="general", title=None, part="full", confirm=True,
                        client=client, now=late)
    assert r.status == "failed" and "expired" in r.message and mb.requests_to("/verify") == []


def test_server_says_expired(archive: Archive, mb: FakeMoltbook, client: MoltbookClient) -> None:
    mb.challenge, mb.answer = SOLVABLE, "18.00"
    mb.enqueue("/verify", MoltbookReply(410, {"success": False, "error": "Verification code has expired"}))
    r = publish_session(archive, make_session(archive), submolt="general", title=None, part="full", confirm=True,
                        client=client)
    assert r.status == "failed" and "expired" in r.message and "publish it again" in r.message
    assert len(mb.requests_to("/verify")) == 1


def test_unsure_challenge_waits_then_verify_pending(archive: Archive, mb: FakeMoltbook,
                                                   client: MoltbookClient) -> None:
    mb.challenge, mb.answer = "A lobster has many claws and loses some; how many remain?", "15.00"
    r = publish_session(archive, make_session(archive), submolt="general", title=None, part="full", confirm=True,
                        client=client)
    assert r.status == "awaiting_verification" and r.verification_code == "verify-post-1"
    assert "no numbers" in r.message and f"--verify {r.publication_id}" in r.message
    assert mb.requests_to("/verify") == []
    row = publications(archive)[0]
    assert row.status == "awaiting_verification" and row.verification_code == "verify-post-1"
    assert row.expires_at is not None
    assert r.publication_id is not None
    with pytest.raises(PublishError, match="must be a number"):
        verify_pending(archive, r.publication_id, "fifteen", client=client)
    done = verify_pending(archive, r.publication_id, "15", client=client)
    assert done.status == "posted" and mb.requests_to("/verify")[0].body["answer"] == "15.00"
    assert publications(archive)[0].status == "posted"


def test_unsure_challenge_asks_the_person(archive: Archive, mb: FakeMoltbook, client: MoltbookClient) -> None:
    mb.challenge, mb.answer = "A lobster has 3 claws, 4 legs and 5 eyes. How many?", "12.00"
    asked: list[tuple[str, str]] = []

    def ask(challenge: str, why: str) -> str | None:
        asked.append((challenge, why))
        return "12"

    r = publish_session(archive, make_session(archive), submolt="general", title=None, part="full", confirm=True,
                        client=client, ask=ask)
    assert r.status == "posted" and asked and asked[0][0] == mb.challenge
    assert [q.body["answer"] for q in mb.requests_to("/verify")] == ["12.00"]


# -- rate limits and the queue ---------------------------------------------------------------------


@pytest.mark.parametrize(("reply", "wait"), [
    (MoltbookReply(429, {"success": False, "error": "Rate limited"}, {"Retry-After": "120"}), timedelta(seconds=120)),
    (MoltbookReply(429, {"success": False, "error": "Slow down", "retry_after_seconds": 90}), timedelta(seconds=90)),
    (MoltbookReply(429, {"success": False, "error": "One post per 30 min", "retry_after_minutes": 7}),
     timedelta(minutes=7)),
])
def test_429_queues_with_not_before_then_queue_sends(reply: MoltbookReply, wait: timedelta, archive: Archive,
                                                     mb: FakeMoltbook, client: MoltbookClient) -> None:
    mb.enqueue("/posts", reply)
    clock = Clock()
    sid = make_session(archive)
    r = publish_session(archive, sid, submolt="general", title=None, part="full", confirm=True, client=client,
                        now=clock)
    assert r.status == "queued" and r.not_before == T0 + wait
    [row] = waiting_posts(archive)
    assert row.not_before == T0 + wait and row.posted_at is None

    clock.t = T0 + wait - timedelta(seconds=1)
    early = send_queue(archive, client=client, now=clock)
    assert early.sent == [] and [p.id for p in early.waiting] == [row.id]
    assert len(mb.requests_to("/posts")) == 1

    clock.t = T0 + wait
    due = send_queue(archive, client=client, now=clock)
    assert [s.status for s in due.sent] == ["posted"] and due.waiting == []
    assert len(mb.requests_to("/posts")) == 2
    assert mb.requests_to("/posts")[1].body["content"] == r.content
    assert publications(archive)[0].status == "posted"


def test_thirty_minutes_between_posts(archive: Archive, mb: FakeMoltbook, client: MoltbookClient) -> None:
    clock = Clock()
    sid = make_session(archive)
    first = publish_session(archive, sid, submolt="general", title=None, part="full", confirm=True, client=client,
                            now=clock)
    assert first.status == "posted"
    clock.advance(minutes=10)
    second = publish_session(archive, sid, submolt="general", title="Synthesis only", part="synthesis",
                             confirm=True, client=client, now=clock)
    assert second.status == "queued" and second.not_before == T0 + timedelta(minutes=30)
    third = publish_session(archive, sid, submolt="general", title="Formulations", part="formulations",
                            confirm=True, client=client, now=clock)
    assert third.status == "queued" and third.not_before == T0 + timedelta(minutes=60)
    assert len(mb.requests) == 1  # queued locally, never sent

    clock.t = T0 + timedelta(minutes=30)
    rep = send_queue(archive, client=client, now=clock)
    assert [s.title for s in rep.sent] == ["Synthesis only"] and [p.title for p in rep.waiting] == ["Formulations"]
    clock.advance(minutes=45)  # the third is due, but only 45 min after... fine: 30 have passed
    rep = send_queue(archive, client=client, now=clock)
    assert [s.status for s in rep.sent] == ["posted"] and rep.waiting == []
    assert [p.status for p in publications(archive)] == ["posted"] * 3


def test_due_posts_still_wait_for_the_interval(archive: Archive, mb: FakeMoltbook, client: MoltbookClient) -> None:
    clock = Clock()
    sid = make_session(archive)
    mb.enqueue("/posts", MoltbookReply(429, {"retry_after_seconds": 60}))
    publish_session(archive, sid, submolt="general", title="one", part="full", confirm=True, client=client, now=clock)
    r2 = publish_session(archive, sid, submolt="general", title="two", part="full", confirm=True, client=client,
                         now=clock)
    assert r2.status == "queued" and r2.not_before == T0 + timedelta(seconds=60, minutes=30)  # behind the first
    assert len(mb.requests) == 1
    clock.advance(hours=2)
    rep = send_queue(archive, client=client, now=clock)
    # the first goes; the second is due too but must wait 30 minutes after it
    assert [s.title for s in rep.sent] == ["one"]
    assert [(p.title, p.not_before) for p in rep.waiting] == [("two", clock.t + timedelta(minutes=30))]


# -- where the key goes ----------------------------------------------------------------------------


def test_redirect_is_not_followed(archive: Archive) -> None:
    with FakeMoltbook(api_key=KEY) as target, FakeMoltbook(api_key=KEY, redirect_to=None) as bare:
        bare.redirect_to = target.origin  # the "bare domain": answers 301 to the www host
        with MoltbookClient(KEY, base_url=bare.base_url) as c:
            with pytest.raises(MoltbookError, match="redirect") as exc:
                c.create_post(submolt="general", title="t", content="c")
            assert exc.value.kind == "redirect" and exc.value.status == 301
            assert target.origin in str(exc.value) and KEY not in str(exc.value)
            r = publish_session(archive, make_session(archive), submolt="general", title=None, part="full",
                                confirm=True, client=c)
        assert r.status == "failed" and f"{target.origin}/api/v1/posts" in r.message
        assert len(bare.requests) == 2 and target.requests == []
        assert not any("authorization" in q.headers for q in target.requests)


@pytest.mark.parametrize("url", ["https://evil.example/api/v1", "http://www.moltbook.com/api/v1",
                                 "https://moltbook.com/api/v1", "https://www.moltbook.com.evil.example/api/v1",
                                 "https://user:pw@www.moltbook.com/api/v1", "https://www.moltbook.com:8443/api/v1"])
def test_base_url_must_be_official_or_loopback(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(PublishError, match="refusing to send the Moltbook key"):
        check_base_url(url)
    monkeypatch.setenv("SYMPOSIA_MOLTBOOK_BASE_URL", url)
    with pytest.raises(PublishError):
        MoltbookClient(KEY)


def test_allowed_base_urls() -> None:
    assert check_base_url("https://www.moltbook.com/api/v1/") == "https://www.moltbook.com/api/v1"
    assert check_base_url("http://127.0.0.1:8080/api/v1") == "http://127.0.0.1:8080/api/v1"
    assert check_base_url("http://localhost:1/api/v1") == "http://localhost:1/api/v1"
    with MoltbookClient(KEY) as c:
        assert c.base_url == "https://www.moltbook.com/api/v1"


def test_key_from_env_or_private_keys_file(isolated_user_dirs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(MissingKeyError, match="MOLTBOOK_API_KEY"):
        resolve_api_key()
    keys = isolated_user_dirs / "config" / "keys.toml"
    keys.write_text(f'MOLTBOOK_API_KEY = "{KEY}"\n')
    os.chmod(keys, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        resolve_api_key()
    os.chmod(keys, 0o600)
    assert resolve_api_key() == KEY
    monkeypatch.setenv("MOLTBOOK_API_KEY", "env-wins-credential-xyz")
    assert resolve_api_key() == "env-wins-credential-xyz"


def test_planted_keys_are_redacted_before_sending(archive: Archive, mb: FakeMoltbook,
                                                  client: MoltbookClient) -> None:
    sid = make_session(archive)
    plant_raw(archive, sid)
    assert PLANTED_MB in archive.query("SELECT answer FROM turns WHERE voice='qwen' AND role='voice'")[0][0]
    r = publish_session(archive, sid, submolt="general", title=None, part="full", confirm=True, client=client)
    assert r.status == "posted"
    [req] = mb.requests
    sent = req.body["title"] + req.body["content"]
    for planted in (PLANTED_MB, PLANTED_OR, "PLANTEDPLANTED"):
        assert planted not in sent and planted not in _all_archive_text(archive)
    assert "[REDACTED]" in req.body["content"] and "[REDACTED]" in req.body["title"]


def test_key_never_in_errors_output_or_archive(archive: Archive, mb: FakeMoltbook, client: MoltbookClient,
                                              tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A server that echoes the credential back in its error must not get it into our messages.
    mb.enqueue("/posts", MoltbookReply(403, {"success": False, "error": f"Key {KEY} is suspended",
                                             "hint": f"Authorization: Bearer {KEY}"}))
    r = publish_session(archive, make_session(archive), submolt="general", title=None, part="full", confirm=True,
                        client=client)
    assert r.status == "failed" and "suspended" in r.message
    assert KEY not in r.message and KEY not in (r.error or "") and KEY not in _all_archive_text(archive)

    monkeypatch.setenv("MOLTBOOK_API_KEY", KEY)
    monkeypatch.setenv("SYMPOSIA_MOLTBOOK_BASE_URL", mb.base_url)
    sid = make_session(archive)
    mb.enqueue("/posts", MoltbookReply(500, {"statusCode": 500, "message": f"boom {KEY}"}))
    res = CliRunner().invoke(publish_cmd, [sid, "--yes"], obj=Options(archive.path, None))
    assert res.exit_code == 1 and "boom" in res.output and KEY not in res.output
    assert KEY not in _all_archive_text(archive)


# -- content ---------------------------------------------------------------------------------------


def test_parts(archive: Archive) -> None:
    sid = make_session(archive)
    session, turns = archive.get_session(sid), archive.session_turns(sid)
    forms = build_post(session, turns, part="formulations")
    assert "## Key Formulations" in forms.content and "the shape the water keeps taking" in forms.content
    assert "## Synthesis" not in forms.content and "**Qwen's Response:**" not in forms.content
    assert forms.title.endswith("— Key Formulations") and f"symposia export {sid}" in forms.content
    synth = build_post(session, turns, part="synthesis")
    assert "## Synthesis: Pattern over substrate" in synth.content and "river and water" in synth.content
    assert "## Key Formulations" not in synth.content

    bare = new_session_id("ask")
    archive.create_session(SessionRecord(id=bare, kind="ask", title="q", created_at=T0))
    with pytest.raises(PublishError, match="no Synthesis section"):
        build_post(archive.get_session(bare), [], part="synthesis")
    with pytest.raises(PublishError, match="unknown part"):
        build_post(session, turns, part="everything")
    with pytest.raises(PublishError, match="invalid submolt"):
        build_post(session, turns, submolt="../admin")


def test_long_transcript_is_cut_at_a_section_boundary(archive: Archive) -> None:
    answers = {f"v{i}": (f"Voice {i} speaks. " + "word " * 2000).strip() for i in range(12)}
    sid = make_session(archive, title="T" * 400, answers=answers)
    session, turns = archive.get_session(sid), archive.session_turns(sid)
    post = build_post(session, turns)
    assert post.shortened and post_length(post.content) <= MAX_CONTENT
    assert len(post.title) == 300 and post.title.endswith("…")
    assert post.content.rstrip().endswith(f"(full transcript: symposia export {sid})*")
    assert f"{post.sections_shown} of {post.sections_total} sections shown" in post.content
    body = post.content.split("\n\n---\n\n")[2:-1]  # without the title header, its provenance, the pointer
    assert body and len(body) == post.sections_shown
    full = build_post(session, turns, max_content=10**7).content
    assert not build_post(session, turns, max_content=10**7).shortened
    for section in body:
        assert f"\n\n---\n\n{section}\n\n---\n\n" in full  # every shown section is whole


def test_one_huge_section_is_cut_at_a_paragraph(archive: Archive) -> None:
    huge = "\n\n".join(f"Paragraph {i}: " + "x" * 900 for i in range(80))
    sid = make_session(archive, answers={"qwen": huge, "grok": "short"})
    # host context is first; make it huge instead so the first body section cannot fit
    conn = sqlite3.connect(archive.path)
    with conn:
        conn.execute("UPDATE turns SET answer = ? WHERE session_id = ? AND seq = 1", (huge, sid))
    conn.close()
    post = build_post(archive.get_session(sid), archive.session_turns(sid))
    assert post.shortened and post_length(post.content) <= MAX_CONTENT
    assert "*[section cut here]*" in post.content and "Paragraph 10: " in post.content


def test_mojibake_and_control_characters_cleaned(archive: Archive) -> None:
    sid = make_session(archive, answers={"qwen": "The cafÃ© is open\x07 â€” come in.", "grok": "ok"})
    post = build_post(archive.get_session(sid), archive.session_turns(sid))
    assert "The café is open — come in." in post.content
    assert "Ã" not in post.content and "\x07" not in post.content
    post.content.encode("utf-8")  # clean UTF-8


# -- the command -----------------------------------------------------------------------------------


def test_cli_preview_and_post(archive: Archive, mb: FakeMoltbook, monkeypatch: pytest.MonkeyPatch) -> None:
    sid = make_session(archive)
    opts = Options(archive.path, None)
    res = CliRunner().invoke(publish_cmd, [sid, "--submolt", "philosophy", "--part", "synthesis"], obj=opts)
    assert res.exit_code == 0, res.output
    assert "nothing was posted" in res.output and "add --yes" in res.output
    assert "m/philosophy" in res.output and "Length:" in res.output and "river and water" in res.output
    assert mb.requests == []

    res = CliRunner().invoke(publish_cmd, [sid, "--yes"], obj=opts)  # no key anywhere
    assert res.exit_code == 2 and "MOLTBOOK_API_KEY" in res.output and mb.requests == []

    monkeypatch.setenv("MOLTBOOK_API_KEY", KEY)
    monkeypatch.setenv("SYMPOSIA_MOLTBOOK_BASE_URL", mb.base_url)
    res = CliRunner().invoke(publish_cmd, [sid, "--yes", "--title", "Hello m/general"], obj=opts)
    assert res.exit_code == 0, res.output
    assert "Posted: https://www.moltbook.com/post/post-1" in res.output
    assert mb.requests[0].body["title"] == "Hello m/general"

    res = CliRunner().invoke(publish_cmd, [sid, "--yes"], obj=opts)  # within 30 minutes: queued
    assert res.exit_code == 0 and "Queued" in res.output and len(mb.requests) == 1
    res = CliRunner().invoke(publish_cmd, ["--queue"], obj=opts)
    assert res.exit_code == 0 and "Nothing due to send." in res.output
    assert "Waiting (1):" in res.output and " UTC (in " in res.output


def test_cli_queue_sends_what_is_due(archive: Archive, mb: FakeMoltbook, client: MoltbookClient,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    past = Clock(datetime.now(UTC) - timedelta(hours=1))
    mb.enqueue("/posts", MoltbookReply(429, {"retry_after_minutes": 1}))
    r = publish_session(archive, make_session(archive), submolt="general", title=None, part="full", confirm=True,
                        client=client, now=past)
    assert r.status == "queued"
    monkeypatch.setenv("MOLTBOOK_API_KEY", KEY)
    monkeypatch.setenv("SYMPOSIA_MOLTBOOK_BASE_URL", mb.base_url)
    res = CliRunner().invoke(publish_cmd, ["--queue"], obj=Options(archive.path, None))
    assert res.exit_code == 0, res.output
    assert f"#{r.publication_id} posted" in res.output and "Waiting" not in res.output
    assert publications(archive)[0].status == "posted"


def test_cli_refuses_foreign_base_url(archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOLTBOOK_API_KEY", KEY)
    monkeypatch.setenv("SYMPOSIA_MOLTBOOK_BASE_URL", "https://moltbook.com/api/v1")
    res = CliRunner().invoke(publish_cmd, [make_session(archive), "--yes"], obj=Options(archive.path, None))
    assert res.exit_code == 2 and "refusing to send the Moltbook key" in res.output
    assert publications(archive) == []


def test_cli_json_for_preview_post_and_queue(archive: Archive, mb: FakeMoltbook,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    sid = make_session(archive)
    opts = Options(archive.path, None)
    res = CliRunner().invoke(publish_cmd, [sid, "--json"], obj=opts)
    assert res.exit_code == 0, res.output
    preview = json.loads(res.output)
    assert preview["status"] == "preview" and preview["session_id"] == sid and "river and water" in preview["content"]
    assert mb.requests == []

    monkeypatch.setenv("MOLTBOOK_API_KEY", KEY)
    monkeypatch.setenv("SYMPOSIA_MOLTBOOK_BASE_URL", mb.base_url)
    res = CliRunner().invoke(publish_cmd, [sid, "--yes", "--json"], obj=opts)
    assert res.exit_code == 0, res.output
    posted = json.loads(res.output)
    assert posted["status"] == "posted" and posted["url"] == "https://www.moltbook.com/post/post-1"
    assert isinstance(posted["publication_id"], int)
    res = CliRunner().invoke(publish_cmd, [sid, "--yes", "--json"], obj=opts)  # within 30 minutes: queued
    queued = json.loads(res.output)
    assert res.exit_code == 0 and queued["status"] == "queued"
    assert datetime.fromisoformat(queued["not_before"]) > datetime.now(UTC)
    res = CliRunner().invoke(publish_cmd, ["--queue", "--json"], obj=opts)
    report = json.loads(res.output)
    assert res.exit_code == 0 and report["sent"] == []
    assert [p["id"] for p in report["waiting"]] == [queued["publication_id"]]
    assert KEY not in res.output
