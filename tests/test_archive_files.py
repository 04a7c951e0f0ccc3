"""The archive file as found on disk: read-only, someone else's SQLite file, damaged."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from support import scripted_config
from symposia.archive import Archive
from symposia.cli.main import cli
from symposia.errors import ArchiveError
from symposia.records import SessionRecord, utcnow


def _read_only_run(folder: Path, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run symposia with ``folder`` read-only to it: a read-only bind mount of it when we are root (root
    writes through any file mode), else file modes."""
    if os.geteuid() == 0:
        script = (f'mount --bind "{folder}" "{folder}" && mount -o remount,ro,bind "{folder}" && '
                  'exec "$@"')
        cmd = ["unshare", "-m", "sh", "-c", script, "sh", sys.executable, "-m", "symposia", *args]
    else:
        for p in folder.rglob("*"):
            p.chmod(0o444)
        folder.chmod(0o555)
        cmd = [sys.executable, "-m", "symposia", *args]
    try:
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    finally:
        folder.chmod(0o755)


def test_an_archive_on_a_read_only_folder_is_read(isolated_user_dirs: Path, tmp_path: Path) -> None:
    scripted_config(isolated_user_dirs, '[default]\nreplies = ["An answer."]\n',
                    [("oracle", "oracle-1", "The Oracle", "Oracle")])
    data = tmp_path / "data"
    data.mkdir()
    db = data / "archive.db"
    with Archive.open(db) as a:
        a.create_session(SessionRecord(id="20261201-000000-ask-ro00", kind="ask", title="kept safe",
                                       created_at=utcnow()))
    env = {**os.environ, "SYMPOSIA_ARCHIVE": str(db)}
    read = _read_only_run(data, ["export", "20261201-000000-ask-ro00", "-f", "json"], env)
    assert read.returncode == 0, read.stderr
    assert "kept safe" in read.stdout
    write = _read_only_run(data, ["ask", "oracle", "Can you record this?"], env)
    assert write.returncode != 0
    said = write.stdout + write.stderr
    assert "read-only" in said and "Traceback" not in said


def test_someone_elses_sqlite_file_is_refused_unless_forced(tmp_path: Path) -> None:
    other = tmp_path / "their.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE recipes (name TEXT)")
    con.commit()
    con.close()
    before = other.read_bytes()
    runner = CliRunner()
    res = runner.invoke(cli, ["--archive", str(other), "log"])
    assert res.exit_code == 1
    assert "not a symposia archive" in res.stderr and "recipes" in res.stderr and "--force-archive" in res.stderr
    assert other.read_bytes() == before  # not one table added
    forced = runner.invoke(cli, ["--archive", str(other), "log", "--force-archive"])  # after the verb too
    assert forced.exit_code == 0, forced.output
    names = {r[0] for r in sqlite3.connect(other).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"recipes", "sessions", "turns"} <= names


@pytest.mark.parametrize("damage", ["garbage", "pages"])
def test_a_damaged_archive_is_reported_as_damaged(tmp_path: Path, damage: str) -> None:
    db = tmp_path / "broken.db"
    if damage == "garbage":
        db.write_bytes(b"this is not a database at all " * 200)
    else:
        with Archive.open(db) as a:
            for i in range(30):
                a.create_session(SessionRecord(id=f"s{i:03d}", kind="ask", title="x" * 500, created_at=utcnow()))
        raw = db.read_bytes()
        page = 4096  # the header and schema page intact, every table page after it overwritten
        db.write_bytes(raw[:page] + b"\xa5" * (len(raw) - page))
    with pytest.raises(ArchiveError, match="it is damaged or is not a SQLite file") as info, Archive.open(db) as a:
        a.list_sessions()
    assert "migration" not in str(info.value)
    res = CliRunner().invoke(cli, ["--archive", str(db), "log"])
    assert res.exit_code == 1 and "it is damaged" in res.stderr and "migration" not in res.stderr
