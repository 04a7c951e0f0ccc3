"""What issue 14 must show, in one run (offline: scripted voices and the loopback fake server).

1. The seed re-enacted with scripted voices (tests/fixtures/seed), analysed: images with their general
   frequency and who used them unprompted / echoed, spans (only between voices), the verdict — then 100
   unrelated sessions imported and the analysis run again: are all numbers identical?
2. A study on the fake server with --echo: the echo effect with its CI, and Vendi per voice.

Prints one JSON object. Run: PYTHONPATH=src .venv/bin/python scripts/convergence_demo.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the re-enactment helpers and test data live with the tests

from click.testing import CliRunner  # noqa: E402

from symposia.api import Symposia, run_sync  # noqa: E402
from symposia.cli.main import cli  # noqa: E402


def seed_part(home: Path) -> dict[str, object]:
    from test_analysis_frozen import unrelated_transcripts
    from test_analysis_seed import FLOOR_ANSWERS, run_seed, seed_config

    seed_config(home)
    db = home / "seed.db"
    with Symposia(db) as s:
        sid = run_seed(s)

    def analyze(*extra: str) -> dict[str, object]:
        res = CliRunner().invoke(cli, ["--archive", str(db), "analyze", sid, "--json", *extra])
        assert res.exit_code == 0, res.output
        return dict(json.loads(res.stdout))

    plain = analyze()  # no floor declared: the one-transcript description
    first = analyze("--floor-answers", str(FLOOR_ANSWERS))  # a declared floor, frozen with the analysis
    res = CliRunner().invoke(cli, ["--archive", str(db), "import",
                                   *map(str, unrelated_transcripts(home / "imports", 100, 0, "The gap is the altar."))])
    assert res.exit_code == 0, res.output
    second = analyze()
    motifs = first["motifs"]
    assert isinstance(motifs, list)
    images = [{"image": m["label"], "zipf": m["zipf"], "status": m["status"],
               "unprompted": [u["voice"] for u in m["uses"] if u["status"] == "unprompted"],
               "echoed": [u["voice"] for u in m["uses"] if u["status"] == "echo"]}
              for m in motifs if not m["phrase"]]
    detail = {k: v for k, v in dict(first["floor_detail"]).items() if k != "ids"}  # type: ignore[call-overload]
    return {"session": sid, "floor": first["floor"], "floor_detail": detail,
            "images_unprompted": [i for i in images if i["unprompted"]][:25],
            "images_echo_only": [i for i in images if not i["unprompted"]][:15],
            "spans": [{"words": sp["words"], "echo": sp["echo"], "voices": [o["voice"] for o in sp["occurrences"]]}
                      for sp in first["spans"]],  # type: ignore[union-attr]
            "verdict_without_floor": plain["verdict"], "verdict_with_floor": first["verdict"],
            "similarity": first["similarity"], "pairs": first["pairs"], "diversity": first["diversity"],
            "identical_after_importing_100_sessions": first == second}


def study_part(home: Path) -> dict[str, object]:
    from support import fake_config
    from symposia.analysis import analyze_study
    from symposia.dialogue.study import StudyPlan, run_study
    from symposia.testing import FakeServer
    from test_analysis_study import CONTROLS, ECHO_K, ECHO_PROMPTS, enqueue_echo

    os.environ["FAKE_API_KEY"] = "k-fake-123456"
    plan = StudyPlan(prompts=ECHO_PROMPTS, voices=("alpha", "beta"), samples=ECHO_K, controls=tuple(CONTROLS),
                     echo=True, concurrency=1)
    with FakeServer() as srv:
        fake_config(home, srv.openai_base_url, [("alpha", "fake/alpha", "Alpha"), ("beta", "fake/beta", "Beta")],
                    max_attempts=1, concurrency=1)
        enqueue_echo(srv)
        with Symposia(home / "study.db") as s:
            outcome = run_sync(run_study(s.runtime, plan))
            a = analyze_study(s.archive, outcome.session_id)
    return {"session": outcome.session_id, "calls": plan.calls,
            "design": "alpha and beta answer fresh from different topics; shown beta's answer, alpha copies it; "
                      "beta keeps to its own topic",
            "echo": [e.to_dict() for e in a.echo or []],
            "vendi_per_voice": {d.label: round(d.vendi, 3) for d in a.sets[0].diversity},
            "verdict": a.verdict.to_dict()}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        for sub in ("config", "data"):
            (home / sub).mkdir()
        os.environ["SYMPOSIA_CONFIG_DIR"] = str(home / "config")
        os.environ["SYMPOSIA_DATA_DIR"] = str(home / "data")
        out = {"seed": seed_part(home), "study": study_part(home)}
    print(json.dumps(out, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
