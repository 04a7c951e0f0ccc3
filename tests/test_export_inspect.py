"""`export -f inspect`: a study becomes Inspect AI eval logs that Inspect's own reader loads."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from inspect_ai.log import read_eval_log

from support import fake_config, numbered
from symposia.cli.main import cli
from symposia.testing import FakeServer, Fault, Reply

PLANTED = "sk-or-v1-PLANTEDinspect0000000000abcdef"


@pytest.fixture(autouse=True)
def fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_API_KEY", "k-fake-inspect-0000")


def test_a_study_exports_one_log_per_voice(isolated_user_dirs: Path, tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.toml"
    prompts.write_text('prompts = ["What persists?", "What is play?", "Where does meaning live?"]\n')
    db = str(tmp_path / "s.db")
    with FakeServer() as srv:
        fake_config(isolated_user_dirs, srv.openai_base_url, numbered(["alpha", "beta"]), max_attempts=1)
        srv.default = Reply(text=f"An answer that quotes a key {PLANTED}.")
        srv.enqueue(Reply(fault=Fault("http_400", message="bad request")), model="fake/beta")
        result = CliRunner().invoke(cli, ["--archive", db, "study", str(prompts), "--voices", "alpha,beta",
                                          "--samples", "2"])
        assert result.exit_code in (0, 1), result.output
    sid = CliRunner().invoke(cli, ["--archive", db, "sessions", "--json", "-k", "study"]).output
    import json

    session_id = json.loads(sid)[0]["id"]
    out_dir = tmp_path / "logs"
    result = CliRunner().invoke(cli, ["--archive", db, "export", session_id, "-f", "inspect", "-o", str(out_dir)])
    assert result.exit_code == 0, result.output
    files = sorted(out_dir.glob("*.json"))
    assert [f.name for f in files] == [f"{session_id}-alpha.json", f"{session_id}-beta.json"]
    for f in files:
        assert PLANTED not in f.read_text()
    alpha = read_eval_log(str(files[0]))
    assert alpha.eval.model == "fake/fake/alpha"
    assert alpha.eval.config.epochs == 2
    assert alpha.eval.dataset.samples == 3
    assert alpha.samples is not None and len(alpha.samples) == 6  # 3 prompts x 2 epochs
    assert sorted({(s.id, s.epoch) for s in alpha.samples}) == [
        (f"prompt-p{i}", e) for i in range(1, 4) for e in (1, 2)]
    first = alpha.samples[0]
    assert first.input in ("What persists?", "What is play?", "Where does meaning live?")
    assert first.output.completion.startswith("An answer")
    assert first.output.usage is not None and first.output.usage.output_tokens > 0
    assert alpha.status == "success"
    beta = read_eval_log(str(files[1]))
    assert beta.status == "error"
    assert beta.samples is not None and sum(1 for s in beta.samples if s.error is not None) == 1


def test_inspect_export_needs_a_folder_and_a_study(isolated_user_dirs: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    with FakeServer() as srv:
        fake_config(isolated_user_dirs, srv.openai_base_url, numbered(["alpha"]), max_attempts=1)
        srv.default = Reply(text="ok")
        assert CliRunner().invoke(cli, ["--archive", db, "ask", "alpha", "Q?"]).exit_code == 0
    import json

    session_id = json.loads(CliRunner().invoke(cli, ["--archive", db, "sessions", "--json"]).output)[0]["id"]
    result = CliRunner().invoke(cli, ["--archive", db, "export", session_id, "-f", "inspect"])
    assert result.exit_code == 2 and "-o DIR" in result.output
    result = CliRunner().invoke(cli, ["--archive", db, "export", session_id, "-f", "inspect", "-o", str(tmp_path)])
    assert result.exit_code != 0 and "exports studies" in result.output
