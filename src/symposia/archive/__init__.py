"""The archive: every session and model call, stored in one SQLite file as it happens.

See docs/ARCHIVE.md for the schema, documented for readers using sqlite3 or Datasette.
"""

from __future__ import annotations

from symposia.archive.migrations import MIGRATIONS, migrate
from symposia.archive.store import Archive, new_session_id, turn_status

__all__ = ["MIGRATIONS", "Archive", "migrate", "new_session_id", "turn_status"]
