"""Paths built from session ids stay under their folder: hostile ids are refused with a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from support import scripted_config
from symposia import paths
from symposia.archive import Archive
from symposia.cli.main import cli
from symposia.paths import UnsafePathError
from symposia.records import SessionRecord, utcnow
from symposia.web import create_app

HOSTILE = ["../../escaped/PWNED", "..", "a/b", "a\\b", "x\r\nSet-Cookie: pwned=1", "nul\x00byte", "", " pad "]


@pytest.mark.parametrize("sid", HOSTILE)
def test_hostile_ids_are_refused_naming_the_reason(sid: str) -> None:
    with pytest.raises(UnsafePathError, match="unsafe session id"):
        paths.check_session_id(sid)


def test_ordinary_ids_pass() -> None:
    for sid in ("20261125-194428-ask-3f9a", "imported-live-trans 2026-01-31", "a.b_c"):
        assert paths.check_session_id(sid) == sid


@settings(deadline=None, max_examples=200)
@given(st.text(min_size=1, max_size=40))
def test_a_file_built_from_any_id_is_inside_its_root_or_refused(sid: str) -> None:
    root = Path("/tmp/symposia-root-check")
    try:
        target = paths.session_file(root, sid, ".md")
    except UnsafePathError:
        return
    assert target.parent == root.resolve()


def test_under_refuses_symlinks_and_absolute_parts(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "link").symlink_to(tmp_path)
    with pytest.raises(UnsafePathError):
        paths.under(tmp_path / "root", "link", "x")
    with pytest.raises(UnsafePathError):
        paths.under(tmp_path / "root", "/etc/passwd")
    assert paths.under(tmp_path / "root", "a.md") == (tmp_path / "root" / "a.md").resolve()


def _hostile_council(db: Path, sid: str) -> None:
    with Archive.open(db) as a:
        a.create_session(SessionRecord(id=sid, kind="council", title="hostile", created_at=utcnow(),
                                       plan={"kind": "council", "question": "Q?", "voices": ["oracle"]}))


def test_analyze_and_resume_never_write_outside_the_data_dir(isolated_user_dirs: Path) -> None:
    scripted_config(isolated_user_dirs, '[default]\nreplies = ["An answer."]\n',
                    [("oracle", "oracle-1", "The Oracle", "Oracle")])
    db = isolated_user_dirs / "data" / "archive.db"
    sid = "../../escaped/PWNED"
    _hostile_council(db, sid)
    runner = CliRunner()
    for args in (["resume", sid], ["analyze", sid, "--chooser", "oracle"]):
        res = runner.invoke(cli, args)
        assert res.exit_code == 2, (args, res.output)
        assert "unsafe session id" in res.stderr
    escaped = isolated_user_dirs / "escaped"
    assert not escaped.exists()
    assert not list(isolated_user_dirs.rglob("PWNED*"))
    with Archive.open(db) as a:  # refused before any call was made (and paid for)
        assert a.session_turns(sid) == []


def test_web_export_of_a_crlf_id_sends_a_safe_header(isolated_user_dirs: Path, tmp_path: Path) -> None:
    db = tmp_path / "web.db"
    sid = "x\r\nSet-Cookie: pwned=1"
    with Archive.open(db) as a:
        a.create_session(SessionRecord(id=sid, kind="ask", title="crlf", created_at=utcnow()))
    with TestClient(create_app(db), base_url="http://127.0.0.1") as c:
        got = c.get("/session/x%0D%0ASet-Cookie%3A%20pwned%3D1/export.md")
        assert got.status_code == 200
        assert "set-cookie" not in got.headers
        assert got.headers["content-disposition"] == 'attachment; filename="x__Set-Cookie__pwned_1.md"'
        short = c.get("/session/x%0D/export.md", follow_redirects=False)  # a prefix: redirected
        assert short.status_code == 307 and "\r" not in short.headers["location"]
