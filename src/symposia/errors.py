"""The exception tree. Every message is something a user can act on, and never contains a key.

    SymposiaError                  exit 1: it ran, and failed
    ├── UsageError                 exit 2: nothing ran; the command, a file, a key or an id must change
    │   ├── ConfigError            a catalog/config/plan/keys file is broken: names file, line and field
    │   ├── UnknownVoiceError      a voice shortcut that is not in the catalog: suggests close names
    │   ├── UnknownPresetError     a preset name that is not in the catalog: suggests and lists them
    │   ├── MissingKeyError        an API key is absent: names the environment variable and keys file
    │   ├── NotFoundError          no session/turn/answer with that id or name, or one of another
    │   │                          kind (also an ArchiveError: it is the archive that was asked)
    │   ├── PublishError           publishing cannot go ahead: the message says what to change
    │   └── SessionBusy            another process runs that session: names its pid and host (lease)
    ├── ProviderError              a model call failed: voice, provider, status, provider's message
    │   └── ProviderUnavailable    a provider cannot run here (local model not installed, ...)
    ├── ArchiveError               the archive cannot be opened / migrated / read / written
    │   ├── ArchiveIntegrityError  a write broke a rule of the schema (duplicate, missing parent, check)
    │   ├── ArchiveLocked          another writer held the database longer than the wait allows
    │   └── ArchiveUnavailable     the database cannot be reached: wrong URL, server down, refused
    │                              login, lost connection (the message never shows a password)
    ├── LeaseLost                  this runner lost its session to another while it ran (lease)
    ├── BudgetExceeded             the next call would take a session past its --max-cost
    ├── ChatError                  a chat command that cannot be carried out now (nothing to undo)
    ├── ImportError_               a file that cannot be imported; the message says why
    │   └── NotADialogue           readable, but no speakers (an essay, notes): refused, not failed
    └── MoltbookError              a call to Moltbook failed (kind, status, retry_after)

(:class:`symposia.paths.UnsafePathError`, a ``ValueError``, sits beside the tree: paths is a bottom
module. The CLI reports it as a usage error, exit 2.)

Exit codes of the CLI (``symposia.cli``): 0 when everything asked for was done; 1 when it ran and
something failed (a call, a voice, a file, a post); 2 when nothing could start (click's own usage
errors too); 130 when interrupted. :attr:`SymposiaError.exit_code` carries the code, so the CLI
never decides it case by case.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from symposia.redact import redact

__all__ = [
    "ArchiveError",
    "ArchiveIntegrityError",
    "ArchiveLocked",
    "ArchiveUnavailable",
    "BudgetExceeded",
    "ChatError",
    "ConfigError",
    "ImportError_",
    "LeaseLost",
    "MissingKeyError",
    "MoltbookError",
    "NotADialogue",
    "NotFoundError",
    "ProviderError",
    "ProviderUnavailable",
    "PublishError",
    "SessionBusy",
    "SymposiaError",
    "UnknownPresetError",
    "UnknownVoiceError",
    "UsageError",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class SymposiaError(Exception):
    """Base of every error symposia raises on purpose."""

    exit_code: ClassVar[int] = EXIT_FAILED


class UsageError(SymposiaError):
    """Nothing was run: what the user asked for cannot start until they change something."""

    exit_code: ClassVar[int] = EXIT_USAGE


class ConfigError(UsageError):
    def __init__(self, message: str, *, path: Path | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        self.path = path
        self.line = line
        self.field = field
        where = ""
        if path is not None:
            where = f"{path}"
            if line is not None:
                where += f":{line}"
            where += ": "
        super().__init__(where + message)


class UnknownVoiceError(UsageError):
    def __init__(self, name: str, suggestions: list[str]) -> None:
        self.name = name
        self.suggestions = suggestions
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"Unknown voice {name!r}.{hint} Run `symposia voices` to list them.")


class UnknownPresetError(UsageError):
    """A preset name that is not in the catalog: suggests close names and lists them all."""

    def __init__(self, name: str, suggestions: list[str], available: list[str]) -> None:
        self.name = name
        self.suggestions = suggestions
        self.available = available
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        listing = f" Presets: {', '.join(available)}." if available else " No presets are defined."
        super().__init__(f"Unknown preset {name!r}.{hint}{listing}")


class MissingKeyError(UsageError):
    def __init__(self, provider: str, env_var: str, keys_file: Path) -> None:
        self.provider = provider
        self.env_var = env_var
        self.keys_file = keys_file
        super().__init__(
            f"No API key for provider {provider!r}: set the environment variable {env_var}, "
            f"or add `{env_var} = \"...\"` to {keys_file} (mode 0600)."
        )


class ProviderError(SymposiaError):
    def __init__(self, message: str, *, provider: str, voice: str | None = None,
                 status: int | None = None, retryable: bool = False, kind: str = "error",
                 code: str | None = None, retry_after: float | None = None) -> None:
        self.provider = provider
        self.voice = voice
        self.status = status
        self.retryable = retryable
        self.kind = kind
        self.code = code
        self.retry_after = retry_after
        self.detail = message
        who = f"voice {voice!r} via {provider!r}" if voice else f"provider {provider!r}"
        st = f" (HTTP {status})" if status is not None else ""
        super().__init__(f"{who}{st}: {message}")


class ProviderUnavailable(ProviderError):
    """The provider cannot run on this machine (e.g. the local model extra is not installed)."""


class ArchiveError(SymposiaError):
    """The archive cannot be opened, migrated, read or written. Both backends (SQLite, PostgreSQL) raise
    this tree, never their driver's own exceptions (``sqlite3.*``, ``psycopg.*``)."""


class ArchiveIntegrityError(ArchiveError):
    """A write broke a rule of the schema. ``constraint``: ``unique`` (a duplicate), ``foreign_key`` (a
    missing parent row), ``check``, ``not_null`` or ``other``."""

    def __init__(self, message: str, *, constraint: str = "other") -> None:
        self.constraint = constraint
        super().__init__(message)


class ArchiveLocked(ArchiveError):
    """Another writer held the database longer than the wait allows (SQLite's busy timeout, a PostgreSQL
    lock timeout or deadlock). Nothing was written; running the command again is safe."""


class ArchiveUnavailable(ArchiveError):
    """The database cannot be reached: a wrong URL, a server that does not run, a refused login, a lost
    connection. The message names the archive without its password."""


class NotFoundError(UsageError, ArchiveError):
    """The archive has no session, turn or answer with that id or name (or it is of another kind)."""


class BudgetExceeded(SymposiaError):
    """Raised before a call that would take the session past ``--max-cost``."""


class ChatError(SymposiaError):
    """A chat command that cannot be carried out now (nothing to undo, nothing to retry)."""


class ImportError_(SymposiaError):  # noqa: N801 - trailing underscore: do not shadow the builtin
    """A file that cannot be imported; the message says why, for the report."""


class NotADialogue(ImportError_):
    """A readable file with no speaker structure (an essay, notes, an index): refused, not failed."""


class PublishError(UsageError):
    """Publishing cannot go ahead: the message says what to change."""


class SessionBusy(UsageError):
    """Another runner holds the session's lease (:mod:`symposia.archive.lease`): says which process on
    which host, since when, and what to do. Nothing was run."""

    def __init__(self, session_id: str, host: str, pid: int, since: str, expires_in: float, *,
                 same_host: bool = False) -> None:
        self.session_id = session_id
        self.host = host
        self.pid = pid
        self.since = since
        if same_host:  # held while that process lives, however old its heartbeat (it may be stopped)
            held = (f"since {since}; it is alive, so it keeps the session even while paused — "
                    f"`kill -CONT {pid}` resumes a stopped one")
        else:
            held = f"since {since}, heartbeat expires in {max(0.0, expires_in):.0f} s"
        super().__init__(
            f"session {session_id} is being run by process {pid} on {host} ({held}). Wait for it to "
            f"finish, use `symposia resume {session_id} --wait SECONDS`, or stop that process; finished "
            "calls are never repeated."
        )


class LeaseLost(SymposiaError):
    """This runner lost its session's lease while it ran (it was asleep and a runner on another host
    took the session over, or the session was finished elsewhere). It made no call after finding out;
    an answer it had already paid for was stored unless the new holder had stored that step."""

    def __init__(self, session_id: str, host: str | None, pid: int | None, generation: int | None,
                 detail: str = "") -> None:
        self.session_id = session_id
        self.host = host
        self.pid = pid
        self.generation = generation
        who = (f"process {pid} on {host} took it over (lease generation {generation})"
               if host is not None and pid is not None else "it is no longer running here (finished or "
               "taken over elsewhere)")
        super().__init__(
            f"this process lost session {session_id}: {who}, while this one was paused or cut off "
            f"from the archive. It made no new calls after that{detail}. See what was stored with "
            f"`symposia export {session_id}`; `symposia resume {session_id}` finishes it once the other runner ends."
        )


class MoltbookError(SymposiaError):
    """A Moltbook call failed. ``kind``: ``rate_limited`` (with ``retry_after`` seconds), ``redirect``,
    ``auth``, ``rejected``, ``bad_reply``, ``connection``, ``http``."""

    def __init__(self, message: str, *, kind: str = "http", status: int | None = None,
                 retry_after: float | None = None, location: str | None = None) -> None:
        self.kind = kind
        self.status = status
        self.retry_after = retry_after
        self.location = location
        st = f" (HTTP {status})" if status is not None else ""
        super().__init__(redact(f"Moltbook{st}: {message}"))
