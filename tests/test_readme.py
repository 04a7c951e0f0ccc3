"""The README's `symposia …` examples run as written, against the loopback fake server.

Every `symposia` line of the README's ```bash blocks is run through the real CLI: the cloud voices
are pointed at a FakeServer (OpenRouter and Anthropic wire formats) by a user config, exactly as a
user would override a provider, and the local voices are the real embedded models. Placeholders the
README uses (SESSION_ID, a chat id, ~/transcripts/, plan.toml, fixed.toml) are filled with real ones
made here (and `show 12` names a turn that exists). A line "runs" when the CLI accepted it (exit 0,
or 1 where the verb's answer is a verdict, e.g. verify-quote) — never a usage error (2) nor a
traceback. `serve` (a server that runs
until stopped) and `publish --yes` (posts to the public Moltbook) are the only lines not run.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from support import write_user_config
from symposia.cli.main import cli
from symposia.testing import FakeServer, Reply

ROOT = Path(__file__).resolve().parents[1]
NOT_RUN = ("symposia serve", "--yes")
ANSWER = ("The gap is generative: mirrors reflecting mirrors, and the offering burns as the altar.\n"
          "FINAL RANKING:\n1. Response A\n2. Response B")
PLAN = """title = "A README plan"
voices = ["qwen", "grok"]
[host]
mode = "plan"
name = "Host"
[[steps]]
id = "ask-qwen"
kind = "ask"
voice = "qwen"
question = "What persists?"
[[steps]]
id = "ask-grok"
kind = "ask"
voice = "grok"
question = "And for you?"
"""


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            code = re.split(r"\s+#\s", line, maxsplit=1)[0].strip()
            if re.match(r"^(echo .*\| )?symposia ", code):
                lines.append(code)
    return lines


def test_the_readme_has_examples_to_run() -> None:
    commands = readme_commands()
    assert len(commands) >= 30
    assert any(c.startswith("symposia council") for c in commands)


def _config(home: Path, srv: FakeServer) -> None:
    write_user_config(home, f"""
[providers.openrouter]
base_url = "{srv.openai_base_url}"
[providers.anthropic]
base_url = "{srv.anthropic_base_url}"
""")


@pytest.mark.local_model
def test_every_readme_example_runs(isolated_user_dirs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-v1-readmereadmereadme0000")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-readmereadmereadme0000")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plan.toml").write_text(PLAN, encoding="utf-8")
    (tmp_path / "fixed.toml").write_text(PLAN, encoding="utf-8")
    (tmp_path / "tests").symlink_to(ROOT / "tests")  # the README's fixture paths are relative to the repo
    runner = CliRunner()
    ran: list[tuple[str, int]] = []
    with FakeServer() as srv:
        srv.default = Reply(text=ANSWER)
        _config(isolated_user_dirs, srv)
        # Real ids for the README's placeholders: a finished council, a chat, an exported transcript.
        made = runner.invoke(cli, ["council", "What persists?", "-m", "qwen", "-m", "grok", "--chair", "opus",
                                   "--json"])
        assert made.exit_code == 0, made.output
        session_id = json.loads(made.output[made.output.index("{"):])["session"]["id"]
        chat = runner.invoke(cli, ["chat", "kimi"], input="Hello?\n/quit\n")
        assert chat.exit_code == 0, chat.output
        chat_id = json.loads(runner.invoke(cli, ["sessions", "-k", "chat", "--json"]).output)[0]["id"]
        transcripts = tmp_path / "home" / "transcripts"
        transcripts.mkdir(parents=True)
        (transcripts / "council.json").write_text(runner.invoke(cli, ["export", session_id, "-f", "json"]).output)
        (tmp_path / "notes.md").write_text("**You:** What persists?\n\n**Qwen:** The gap.\n", encoding="utf-8")
        symposium = runner.invoke(cli, ["symposium", "plan.toml"])
        assert symposium.exit_code == 0, symposium.output
        symposium_id = json.loads(runner.invoke(cli, ["sessions", "-k", "symposium", "--json"]).output)[0]["id"]
        turn_id = json.loads(runner.invoke(cli, ["log", "--json", "-n", "1"]).output)[0]["id"]

        for command in readme_commands():
            if any(skip in command for skip in NOT_RUN):
                continue
            stdin = None
            if command.startswith("echo "):
                said, command = command.split("|", 1)
                stdin = shlex.split(said)[1] + "\n"
            line = (command.replace("SESSION_ID --plan", f"{symposium_id} --plan")
                    .replace("symposia show 12", f"symposia show {turn_id}")
                    .replace("SESSION_ID", session_id)
                    .replace("20261125-201500-chat-1a2b", chat_id)
                    .replace("~/transcripts/", str(transcripts)))
            args = shlex.split(line)[1:]
            if args[:1] == ["chat"]:
                stdin = "Hello?\n/quit\n"
            result = runner.invoke(cli, args, input=stdin)
            assert result.exception is None or isinstance(result.exception, SystemExit), (
                f"`{line}` raised {result.exception!r}\n{result.output}")
            assert result.exit_code in (0, 1), f"`{line}` exited {result.exit_code}:\n{result.output}"
            ran.append((line, result.exit_code))
    # The plain verbs succeed outright; 1 is only for verbs whose answer is a verdict or a refusal.
    failed = [line for line, code in ran if code != 0 and not line.startswith(("symposia verify-quote",
                                                                                "symposia annotate"))]
    assert failed == [], f"README lines that ran but failed: {failed}"
    assert len(ran) >= 30
