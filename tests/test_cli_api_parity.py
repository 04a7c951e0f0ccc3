"""Every CLI verb has a Python API method (the CLI is a thin shell over `symposia.api.Symposia`).

The verbs are read from the click tree itself, so a verb added without an API method (or an explicit,
reasoned exemption below) fails this test.
"""

from __future__ import annotations

import inspect

import click

from symposia.api import Symposia
from symposia.cli.main import cli

# CLI verb -> the Symposia method that does the same.
API_FOR = {
    "analyze": "analyze",
    "annotate": "annotate",
    "arena": "arena",
    "ask": "ask",
    "batches": "batches",
    "chat": "chat",
    "council": "council",
    "datasette-metadata": "datasette_metadata",
    "export": "export",
    "import": "import_paths",
    "index": "index",
    "log": "log",
    "near-dups": "near_dups",
    "origin": "origin",
    "presets": "presets",
    "publish": "publish",
    "recall": "recall",
    "resume": "resume",
    "search": "search",
    "sessions": "sessions",
    "show": "show",
    "study": "study",
    "symposium": "symposium",
    "verify-quote": "verify_quote",
    "voices": "voices",
    "voices show": "voice",
}

# Verbs that manage the machine around the record rather than the record itself; each names where
# its Python equivalent lives.
NOT_API = {
    "serve": "a web server process: symposia.web.create_app(archive, config)",
    "worker": "a worker process: symposia.archive.queue / procrastinate",
    "archive copy": "symposia.archive.transfer.copy_archive(src, dst)",
    "archive dump": "symposia.archive.transfer.dump_archive(archive)",
    "keys set": "symposia.keys.store_key(name, value)",
    "keys list": "symposia.keys.key_sources(names)",
    "keys path": "symposia.paths.keys_file()",
    "templates list": "symposia.catalog.templates.template_names / load_template",
    "templates show": "symposia.catalog.templates.load_template(name)",
    "templates edit": "an editor session on symposia.catalog.templates.template_path(name)",
    "templates path": "symposia.catalog.templates.template_path(name)",
}


def _verbs(group: click.Group, prefix: str = "") -> list[str]:
    out: list[str] = []
    for name, cmd in group.commands.items():
        full = f"{prefix} {name}".strip()
        if isinstance(cmd, click.Group):
            if cmd.invoke_without_command:  # `voices` lists by itself as well as grouping `voices show`
                out.append(full)
            out += _verbs(cmd, full)
        else:
            out.append(full)
    return sorted(out)


def test_every_cli_verb_has_an_api_method_or_a_reason() -> None:
    verbs = _verbs(cli)
    missing = [v for v in verbs if v not in API_FOR and v not in NOT_API]
    assert missing == [], f"CLI verbs with no API method (add one, or a reasoned NOT_API entry): {missing}"
    assert set(API_FOR) | set(NOT_API) <= set(verbs), "the tables name verbs the CLI no longer has"


def test_the_named_api_methods_exist_with_explicit_parameters() -> None:
    loose = []
    for verb, name in API_FOR.items():
        method = getattr(Symposia, name, None)
        assert callable(method), f"`symposia {verb}` maps to Symposia.{name}, which does not exist"
        params = inspect.signature(method).parameters.values()
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
            loose.append(name)
    assert loose == [], f"API methods still taking **kwargs instead of explicit parameters: {loose}"
