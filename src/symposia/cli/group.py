"""The top-level click group: global options are accepted before *or* after the verb.

``symposia log --archive a.db`` means ``symposia --archive a.db log``: the group's own options
(``--archive``, ``--config``) found after the verb are moved in front of it before parsing. A
literal ``--`` ends the search, so ``symposia ask qwen -- --archive`` still asks about "--archive".
"""

from __future__ import annotations

import click

__all__ = ["SymposiaGroup", "hoist_global_options"]

GLOBAL_WITH_VALUE = ("--archive", "--config")


def hoist_global_options(args: list[str]) -> list[str]:
    """Move global options (and their values) that follow the verb to the front."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            rest.extend(args[i:])
            break
        if a in GLOBAL_WITH_VALUE and i + 1 < len(args) and args[i + 1] != "--":
            front.extend(args[i:i + 2])
            i += 2
            continue
        if any(a.startswith(f"{name}=") for name in GLOBAL_WITH_VALUE):
            front.append(a)
        else:
            rest.append(a)
        i += 1
    return front + rest


class SymposiaGroup(click.Group):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(list(args)))
