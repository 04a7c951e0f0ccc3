"""Publishing sessions to Moltbook: ``symposia publish ID --to moltbook``.

Submodules: :mod:`.content` builds the post (pure), :mod:`.challenge` solves the verification
problem (pure), :mod:`.moltbook` is the HTTP client, :mod:`.queue` the workflow, :mod:`.store` its
record in the archive (whose ``publications`` table is created by :mod:`symposia.archive.schema_publish`).
Names are imported lazily so that ``import symposia.publish`` does not pull in httpx or the renderer.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from symposia.publish.challenge import Solution, solve
    from symposia.publish.content import Post, PublishError, build_post
    from symposia.publish.moltbook import MoltbookClient, MoltbookError
    from symposia.publish.queue import PublishResult, QueueReport, publish_session, send_queue, verify_pending
    from symposia.publish.store import Publication, publications, waiting_posts

__all__ = [
    "MoltbookClient",
    "MoltbookError",
    "Post",
    "Publication",
    "PublishError",
    "PublishResult",
    "QueueReport",
    "Solution",
    "build_post",
    "publications",
    "publish_session",
    "send_queue",
    "solve",
    "verify_pending",
    "waiting_posts",
]

_WHERE = {
    "Solution": "challenge", "solve": "challenge",
    "Post": "content", "PublishError": "content", "build_post": "content",
    "MoltbookClient": "moltbook", "MoltbookError": "moltbook",
    "Publication": "store", "publications": "store", "waiting_posts": "store",
    "PublishResult": "queue", "QueueReport": "queue", "publish_session": "queue", "send_queue": "queue",
    "verify_pending": "queue",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'symposia.publish' has no attribute {name!r}")
    return getattr(importlib.import_module(f"symposia.publish.{module}"), name)
