"""Everyday CLI habits an `llm` user brings: sessions, keys set, options after the verb, `-o -`."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from support import scripted_config
from symposia.cli.group import hoist_global_options
from symposia.cli.main import cli

VOICES = [("oracle", "oracle-1", "The Oracle"), ("sibyl", "sibyl-1", "The Sibyl")]


@pytest.fixture
def scripted(isolated_user_dirs: Path) -> Path:
    scripted_config(isolated_user_dirs, '[default]\nreplies = ["An answer."]\n', VOICES)
    return isolated_user_dirs


def _run(*args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), input=input)
    return result.exit_code, result.output


def test_sessions_lists_filters_and_counts(scripted: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "a.db")
    assert _run("--archive", db, "ask", "oracle", "First?")[0] == 0
    assert _run("--archive", db, "council", "Second?", "-m", "oracle", "-m", "sibyl")[0] == 0
    code, text = _run("--archive", db, "sessions", "--json")
    assert code == 0
    rows = json.loads(text)
    assert [r["kind"] for r in rows] == ["council", "ask"]  # newest first
    council, ask = rows
    assert council["calls"] == 2 and council["failed"] == 0
    assert council["voices"] == ["oracle", "sibyl"] and ask["voices"] == ["oracle"]
    assert [r["kind"] for r in json.loads(_run("--archive", db, "sessions", "-v", "sibyl", "--json")[1])] \
        == ["council"]
    assert [r["kind"] for r in json.loads(_run("--archive", db, "sessions", "-k", "ask", "--json")[1])] == ["ask"]
    assert json.loads(_run("--archive", db, "sessions", "--until", "2000-01-01", "--json")[1]) == []
    assert len(json.loads(_run("--archive", db, "sessions", "--since", "2000-01-01", "--json")[1])) == 2
    code, table = _run("--archive", db, "sessions")
    assert code == 0 and council["id"] in table and "Second?" in table


def test_global_options_work_after_the_verb(scripted: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "after.db")
    assert _run("ask", "oracle", "Where am I stored?", "--archive", db)[0] == 0
    assert Path(db).exists()
    rows = json.loads(_run("sessions", "--json", f"--archive={db}")[1])
    assert len(rows) == 1 and rows[0]["title"].startswith("Where am I stored?")


@settings(deadline=None, max_examples=200)
@given(st.lists(st.sampled_from(["ask", "x", "--archive", "--config", "a.db", "--", "-n", "--archive=b.db"]),
                max_size=10))
def test_hoisting_keeps_every_argument_and_the_order_of_the_rest(args: list[str]) -> None:
    hoisted = hoist_global_options(args)
    assert sorted(hoisted) == sorted(args)
    if "--" in args:
        cut = args.index("--")
        assert hoisted[-(len(args) - cut):] == args[cut:]  # nothing after `--` moves


def test_keys_set_writes_a_private_file_and_list_never_shows_values(isolated_user_dirs: Path) -> None:
    secret = "sk-or-v1-TESTKEY-abcdef0123456789"
    code, text = _run("keys", "set", "OPENROUTER_API_KEY", input=secret + "\n")
    assert code == 0, text
    path = Path(_run("keys", "path")[1].strip())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret in path.read_text()
    assert secret not in text
    code, listing = _run("keys", "list", "--json")
    assert code == 0
    sources = json.loads(listing)
    assert sources["OPENROUTER_API_KEY"] == "keys.toml"
    assert secret not in listing
    # A second key keeps the first; the file stays valid TOML the reader accepts.
    assert _run("keys", "set", "XAI_API_KEY", "--value", "xai-second-key-000")[0] == 0
    from symposia.keys import load_keys_file

    assert load_keys_file(path) == {"OPENROUTER_API_KEY": secret, "XAI_API_KEY": "xai-second-key-000"}
    os.environ["XAI_API_KEY"] = "from-env"
    try:
        assert json.loads(_run("keys", "list", "--json")[1])["XAI_API_KEY"] == "environment"
    finally:
        del os.environ["XAI_API_KEY"]


def test_keys_set_refuses_a_bad_name_or_a_multiline_value(isolated_user_dirs: Path) -> None:
    code, text = _run("keys", "set", "not a name", "--value", "x")
    assert code != 0 and "invalid key name" in text
    code, text = _run("keys", "set", "FOO_API_KEY", "--value", "abc\ndef")
    assert code != 0 and "one line" in text and "def" not in text


def test_ask_continue_carries_the_history_and_cid_picks_a_conversation(isolated_user_dirs: Path,
                                                                       tmp_path: Path) -> None:
    from support import fake_config, numbered
    from symposia.testing import FakeServer, Reply

    os.environ["FAKE_API_KEY"] = "k-fake-continue-0000"
    db = str(tmp_path / "c.db")
    try:
        with FakeServer() as srv:
            fake_config(isolated_user_dirs, srv.openai_base_url, numbered(["alpha", "beta"]), max_attempts=1)
            srv.default = Reply(text="First answer.")
            assert _run("--archive", db, "ask", "alpha", "What persists?")[0] == 0
            first = json.loads(_run("--archive", db, "sessions", "--json")[1])[0]["id"]
            assert _run("--archive", db, "ask", "beta", "Unrelated?")[0] == 0
            srv.default = Reply(text="Second answer.")
            # -c continues the latest conversation (beta's); --cid picks alpha's.
            code, out = _run("--archive", db, "ask", "--cid", first, "And what does not?", "--json")
            assert code == 0, out
            turn = json.loads(out)
            assert turn["session_id"] == first and turn["voice"] == "alpha"
            assert [(m["role"], m["content"]) for m in turn["request"]["messages"]] == [
                ("user", "What persists?"), ("assistant", "First answer."), ("user", "And what does not?")]
            code, out = _run("--archive", db, "ask", "-c", "Go on.", "--json")
            assert code == 0, out
            latest = json.loads(out)
            assert latest["session_id"] == first  # alpha's conversation is now the most recent
            assert [m["content"] for m in latest["request"]["messages"]][-1] == "Go on."
            assert len(latest["request"]["messages"]) == 5
    finally:
        del os.environ["FAKE_API_KEY"]


def test_templates_frame_the_question_and_set_system_and_params(isolated_user_dirs: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from support import fake_config, numbered
    from symposia.testing import FakeServer, Reply

    monkeypatch.setenv("FAKE_API_KEY", "k-fake-template-000")
    # A real editor session, scripted: sed edits the starter file click hands it.
    monkeypatch.setenv("EDITOR", "sed -i -e 's/^system = \"\"/system = \"Be brief.\"/' "
                                 "-e 's/^prompt = .*/prompt = \"Inside view: {input}\"/' "
                                 "-e 's/^# params = .*/params = { temperature = 0.3 }/'")
    code, text = _run("templates", "edit", "brief")
    assert code == 0, text
    listed = json.loads(_run("templates", "list", "--json")[1])
    assert listed == [{"name": "brief", "system": "Be brief.", "prompt": "Inside view: {input}",
                       "params": {"temperature": 0.3}}]
    with FakeServer() as srv:
        fake_config(isolated_user_dirs, srv.openai_base_url, numbered(["alpha"]), max_attempts=1)
        srv.default = Reply(text="Short.")
        code, out = _run("--archive", str(tmp_path / "t.db"), "ask", "alpha", "What persists?", "-T", "brief",
                         "--json")
    assert code == 0, out
    request = json.loads(out)["request"]
    assert request["system"] == "Be brief."
    assert request["messages"][-1]["content"] == "Inside view: What persists?"
    assert request["params"]["temperature"] == 0.3
    code, text = _run("ask", "alpha", "x", "-T", "missing")
    assert code != 0 and "no template 'missing'" in text and "templates edit missing" in text


def test_json_on_presets_voices_show_and_resume(scripted: Path, tmp_path: Path) -> None:
    code, out = _run("presets", "--json")
    assert code == 0
    presets = {p["preset"]: p["voices"] for p in json.loads(out)}
    assert "offline" in presets and presets["offline"]
    code, out = _run("voices", "show", "oracle", "--json")
    assert code == 0
    shown = json.loads(out)
    assert shown["model"] == "oracle-1" and shown["provider"]["kind"] == "scripted" and shown["usable"] is True
    db = str(tmp_path / "r.db")
    assert _run("--archive", db, "council", "Q?", "-m", "oracle", "-m", "sibyl")[0] == 0
    sid = json.loads(_run("--archive", db, "sessions", "--json")[1])[0]["id"]
    code, out = _run("--archive", db, "resume", sid, "--json")
    assert code == 0, out
    record = json.loads(out[out.index("{"):])
    assert record["session"]["id"] == sid and len(record["turns"]) == 2
