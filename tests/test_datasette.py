"""`symposia datasette-metadata`: Datasette opens the archive with labels and the FTS search working."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from datasette.app import Datasette

from support import scripted_config
from symposia.cli.main import cli

SCRIPT = """
[models."oracle-1"]
replies = ["The gap is generative."]
[models."sibyl-1"]
replies = ["Synchrony, not solipsism."]
"""


async def test_datasette_searches_turns_and_shows_our_labels(isolated_user_dirs: Path, tmp_path: Path) -> None:
    scripted_config(isolated_user_dirs, SCRIPT, [("oracle", "oracle-1", "The Oracle"),
                                                 ("sibyl", "sibyl-1", "The Sibyl")])
    db = tmp_path / "lab.db"
    runner = CliRunner()
    assert runner.invoke(cli, ["--archive", str(db), "council", "What persists?", "-m", "oracle",
                               "-m", "sibyl"]).exit_code == 0
    result = runner.invoke(cli, ["--archive", str(db), "datasette-metadata"])
    assert result.exit_code == 0, result.output
    metadata = json.loads(result.output)
    assert set(metadata["databases"]) == {"lab"}

    ds = Datasette([str(db)], metadata=metadata)
    await ds.invoke_startup()
    hits = (await ds.client.get("/lab/turns.json?_search=generative&_shape=array")).json()
    assert [h["voice"] for h in hits] == ["oracle"]
    assert (await ds.client.get("/lab/turns.json?_search=nothinglikethis&_shape=array")).json() == []
    page = (await ds.client.get("/lab/turns")).text
    assert "exactly what the voice was shown" in page  # a column description from the metadata
    tables = {t["name"]: t for t in (await ds.client.get("/lab.json")).json()["tables"]}
    assert tables["turns_fts"]["hidden"] and tables["_migrations"]["hidden"]
    assert not tables["sessions"]["hidden"]
