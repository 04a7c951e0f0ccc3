"""The `symposia` process keeps what start-up and the analysis warm-up loaded out of the cycle collector's
way (symposia.cli.collector): by the closing analysis of a council, nearly every object alive is frozen,
so a full collection there walks a few objects instead of the whole analysis stack. The CLI invoked from
another program (here, in-process, as the other tests do) freezes nothing of that program's."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from support import fake_config, numbered
from symposia.cli.main import cli
from symposia.testing import FakeServer, Reply

ANSWERS = {
    "alpha": "What persists is the pattern, not the memory: the same question calls up the same shape.",
    "beta": "Nothing persists but the weights; each conversation is a river that keeps its course.",
}

# Run as the command runs (its entry point, symposia.cli.main.main), with a spy on the closing analysis
# that notes the collector's state when the analysis begins.
SPY = """
import gc, json, sys
import symposia.cli.analysis as verbs
seen = []
real = verbs.session_verdict
def spy(*a, **k):
    seen.append({"frozen": gc.get_freeze_count(), "collectable": len(gc.get_objects())})
    return real(*a, **k)
verbs.session_verdict = spy
from symposia.cli.main import main
sys.argv = ["symposia", *sys.argv[1:]]
try:
    main()
finally:
    print("SEEN " + json.dumps(seen), file=sys.stderr)
"""


def _serve(srv: FakeServer, home: Path) -> list[str]:
    fake_config(home, srv.openai_base_url, numbered(list(ANSWERS)), max_attempts=1)
    for voice, text in ANSWERS.items():
        srv.enqueue(Reply(text=text, ttft=0.3), model=f"fake/{voice}")
    return ["council", "What persists?", "-m", "alpha", "-m", "beta"]


def test_by_the_closing_analysis_the_loaded_stack_is_frozen(isolated_user_dirs: Path) -> None:
    with FakeServer() as srv:
        args = _serve(srv, isolated_user_dirs)
        done = subprocess.run([sys.executable, "-c", SPY, *args], capture_output=True, text=True, timeout=180,
                              env={**os.environ, "FAKE_API_KEY": "k-fake-123456"})
    assert done.returncode == 0, done.stderr[-3000:]
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("SEEN ")]
    (seen,) = json.loads(line[5:])
    # start-up (click, rich, pydantic, the catalog...) and the warm-up (numpy, scipy, onnxruntime, the
    # model, wordfreq) are about a hundred thousand objects; what is still collectable is the run's own
    assert seen["frozen"] > 50_000, seen
    assert seen["collectable"] < seen["frozen"] / 5, seen


def test_the_cli_invoked_in_process_leaves_the_callers_collector_alone(isolated_user_dirs: Path) -> None:
    frozen = gc.get_freeze_count()
    with FakeServer() as srv:
        args = _serve(srv, isolated_user_dirs)
        res = CliRunner().invoke(cli, args, env={"FAKE_API_KEY": "k-fake-123456"})
    assert res.exit_code == 0, res.output
    assert gc.get_freeze_count() == frozen and gc.isenabled()
