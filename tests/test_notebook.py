"""Results render in notebooks: Jupyter calls ``_repr_markdown_`` on what a cell returns."""

from __future__ import annotations

from pathlib import Path

from support import scripted_config
from symposia.api import Symposia

SCRIPT = """
[models."oracle-1"]
replies = ["The gap is *generative*.\\n\\nA second paragraph."]
[models."sibyl-1"]
replies = [{ error = "bad_request", message = "no" }]
"""


def test_turns_and_councils_render_as_markdown(isolated_user_dirs: Path, tmp_path: Path) -> None:
    scripted_config(isolated_user_dirs, SCRIPT, [("oracle", "oracle-1", "The Oracle"),
                                                 ("sibyl", "sibyl-1", "The Sibyl")])
    with Symposia(tmp_path / "nb.db") as s:
        turn = s.ask("oracle", "What persists?")
        outcome = s.council("What persists?", ["oracle", "sibyl"])
    md = turn._repr_markdown_()
    assert md.startswith("**The Oracle** (`oracle` · `oracle-1`)")
    # Every line of the answer is quoted, blank ones too, so the answer cannot break the layout.
    assert "> The gap is *generative*.\n>\n> A second paragraph." in md
    assert turn.session_id in md
    council = outcome._repr_markdown_()
    assert "### Round 1" in council and "The gap is *generative*." in council
    assert "**The Sibyl** (`sibyl`" in council and "failed: bad_request:" in council
