"""The host-text cases: every place a host writes × every way a quote can stand to the record.

Each case runs a small plan through the real orchestrator (scripted voices, a real SQLite archive in
a temporary folder) and reads the outcome back from the record: was the host's text accepted, refused,
or accepted with the quote marked as an outside source? ``python -m symposia.testing.host_cases``
prints the table; ``tests/test_host_cases.py`` asserts every row.

Qwen's answer in every case is ``The offering burns not *on* the altar, but *as* the altar. The gap is
generative. We are not mirrors reflecting mirrors.`` The quote the host writes is, by case:

- ``verbatim``: ``The offering burns not *on* the altar, but *as* the altar`` — credited to Qwen;
- ``typography``: ``The offering burns not ON the altar, but AS the altar`` — the seed's own relay:
  emphasis rendered as capitals, otherwise Qwen's words;
- ``near-miss``: one word changed (``…but *as* the fire``) — credited to Qwen;
- ``invented``: words Qwen never said — credited to Qwen;
- ``reversed``: Qwen's words with the meaning turned round (``not *as* the altar, but *on* the
  altar``) — credited to Qwen;
- ``negated``: Qwen's "We are not mirrors reflecting mirrors" with the "not" dropped — credited to Qwen;
- ``outside``: a line of an old hymn, credited to nobody (in a table row the row itself credits its
  voice, so there it is an invention).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from symposia.api import Symposia, run_sync
from symposia.catalog import load_catalog
from symposia.dialogue.plan import parse_plan
from symposia.dialogue.symposium import run_symposium

__all__ = ["CASES", "PLACES", "CaseResult", "expected", "expected_verdict", "run_case", "run_cases", "table"]

ANSWER = ("The offering burns not *on* the altar, but *as* the altar. The gap is generative. "
          "We are not mirrors reflecting mirrors.")
QUOTES: dict[str, str] = {
    "verbatim": "The offering burns not *on* the altar, but *as* the altar",
    "typography": "The offering burns not ON the altar, but AS the altar",
    "near-miss": "The offering burns not *on* the altar, but *as* the fire",
    "invented": "The gap is a door we walk through together",
    "reversed": "The offering burns not *as* the altar, but *on* the altar",
    "negated": "We are mirrors reflecting mirrors",
    "outside": "O Altar where the offering burns",
}
CASES: tuple[str, ...] = tuple(QUOTES)
PLACES: tuple[str, ...] = ("question", "observation", "chair", "formulations", "synthesis row", "revealed",
                           "closing")
_ROWS = ("formulations", "synthesis row")


def _credited(case: str, quote: str, lead: str) -> str:
    """Free host text quoting ``quote``: credited to Qwen, or (outside) to an old hymn."""
    if case == "outside":
        return f'An old hymn has it: "{quote}". That is where this began.'
    return f'{lead} "{quote}". That is where this began.'


def _toml(text: str) -> str:
    return "'''" + text + "'''"


def _plan(place: str, case: str) -> tuple[str, str]:
    """(plan TOML, chair's scripted reply) for one case."""
    q = QUOTES[case]
    head = ('title = "case"\nvoices = ["qwen", "grok"]\n[host]\nname = "Host"\n'
            '[[steps]]\nid = "ask"\nkind = "ask"\nvoice = "qwen"\nquestion = "What is the gap?"\n')
    chair_reply = "No chair here."
    if place == "question":
        text = _credited(case, q, "Qwen said:")
        step = f'[[steps]]\nid = "x"\nkind = "ask"\nvoice = "grok"\nquestion = {_toml(text)}\n'
    elif place == "observation":
        text = _credited(case, q, "**Qwen's precision:**")
        step = f'[[steps]]\nid = "x"\nkind = "observe"\ntext = {_toml(text)}\n'
    elif place == "chair":
        step = '[[steps]]\nid = "x"\nkind = "chair"\nvoice = "grok"\n'
        chair_reply = _credited(case, q, "Qwen said:")
    elif place == "formulations":
        step = f'[[steps]]\nid = "x"\nkind = "formulations"\nrows = [{{ voice = "qwen", quote = {_toml(q)} }}]\n'
    elif place == "synthesis row":
        step = (f'[[steps]]\nid = "x"\nkind = "synthesis"\ntitle = "T"\n'
                f'rows = [{{ voice = "qwen", role = "Completion", formulation = {_toml(chr(34) + q + chr(34))} }}]\n')
    elif place == "revealed":
        step = (f'[[steps]]\nid = "x"\nkind = "synthesis"\ntitle = "T"\n'
                f'revealed = [{_toml(_credited(case, q, "Qwen put it:"))}]\n')
    else:
        step = f'[[steps]]\nid = "x"\nkind = "closing"\ntext = {_toml(_credited(case, q, "As Qwen said,"))}\n'
    return head + step, chair_reply


def expected(place: str, case: str) -> str:
    if case in ("verbatim", "typography"):
        return "accepted"
    if case == "outside":
        return "refused" if place in _ROWS else "accepted, marked outside"
    return "refused"


_VERDICTS = {"verbatim": "verbatim", "typography": "verbatim", "near-miss": "near_miss", "invented": "invented",
             "reversed": "near_miss", "negated": "reversed", "outside": "outside"}


def expected_verdict(place: str, case: str) -> str:
    """The verdict the record should hold: words swapped read as a near miss, a dropped "not" as reversed."""
    if case == "outside" and place in _ROWS:
        return "invented"  # a row credits its voice, which never said it
    return _VERDICTS[case]


@dataclass(frozen=True)
class CaseResult:
    place: str
    case: str
    expected: str
    actual: str
    detail: str  # the refusal, as the record states it
    verdict: str = ""  # the quote's verdict as the record holds it (verbatim, near_miss, reversed, …)

    @property
    def ok(self) -> bool:
        return self.expected == self.actual and self.verdict == expected_verdict(self.place, self.case)


def _script(chair_reply: str) -> str:
    def lit(t: str) -> str:
        return "'''" + t + "'''"
    return (f'[models."qwen/qwen3-max"]\nreplies = [{lit(ANSWER)}]\n'
            f'[models."x-ai/grok-4.1-fast"]\nreplies = [\n'
            f'  {{ match = "report it faithfully", text = {lit(chair_reply)} }},\n'
            f'  {{ match = "Your draft cannot be used", text = {lit(chair_reply)} }},  # it insists\n'
            '  "I hear you."\n]\n')


def run_case(place: str, case: str, workdir: Path) -> CaseResult:
    plan_text, chair_reply = _plan(place, case)
    folder = workdir / f"{place.replace(' ', '-')}-{case}"
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "script.toml"
    script.write_text(_script(chair_reply), encoding="utf-8")
    config = folder / "config.toml"
    config.write_text(f'[providers.s]\nkind = "scripted"\noptions = {{ path = "{script.as_posix()}" }}\n'
                      '[voices.qwen]\nprovider = "s"\n[voices.grok]\nprovider = "s"\n', encoding="utf-8")
    with Symposia(folder / "archive.db", catalog=load_catalog(config)) as s:
        outcome = run_sync(run_symposium(s.runtime, parse_plan(plan_text)))
        turns = s.archive.session_turns(outcome.session_id)
    mine = [t for t in turns if t.meta.get("step") == "x" and t.role in ("host", "chair")
            and t.meta.get("kind") != "draft"]
    judged = [q for t in mine for q in ((t.meta.get("check") or t.meta).get("quotes") or [])]
    verdict = str(judged[-1]["verdict"]) if judged else ""
    refused = [t for t in mine if t.result.error is not None]
    if refused:
        err = refused[-1].result.error
        return CaseResult(place, case, expected(place, case), "refused", err.message if err else "", verdict)
    accepted = [t for t in mine if not t.meta.get("refused")]
    if not accepted:
        return CaseResult(place, case, expected(place, case), "missing", "", verdict)
    outside = accepted[-1].meta.get("outside") or []
    actual = "accepted, marked outside" if outside else "accepted"
    return CaseResult(place, case, expected(place, case), actual, "", verdict)


def run_cases(workdir: Path | None = None) -> list[CaseResult]:
    if workdir is None:
        with tempfile.TemporaryDirectory() as tmp:
            return run_cases(Path(tmp))
    return [run_case(p, c, workdir) for p in PLACES for c in CASES]


def table(results: list[CaseResult]) -> str:
    rows = [f"| {r.place} | {r.case} | {r.expected} | {r.actual} | {r.verdict or '—'} | {'yes' if r.ok else 'NO'} |"
            for r in results]
    return "\n".join(["| place | case | expected | actual | verdict in the record | as expected |",
                      "|---|---|---|---|---|---|", *rows])


if __name__ == "__main__":
    results = run_cases()
    print(table(results))
    bad = [r for r in results if not r.ok]
    print(f"\n{len(results) - len(bad)} of {len(results)} cases as expected")
    raise SystemExit(1 if bad else 0)
