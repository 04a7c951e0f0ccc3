"""Import the transcripts users already have (docs/FORMATS.md) into the archive.

One concept per module: :mod:`.records` (the parsed form), :mod:`.encoding` (bytes -> text),
:mod:`.dates`, :mod:`.markdown`, :mod:`.speakers` (names -> catalog voices), :mod:`.coverage`
(every character accounted for), :mod:`.validation` (what may be stored), one module per shape,
and :mod:`.pipeline`, which reads files, parses, validates, stores and reports.

    >>> from symposia.archive import Archive
    >>> from symposia.catalog import load_catalog
    >>> report = import_paths(Archive.open("archive.db"), load_catalog(), ["~/transcripts"])
"""

from symposia.importers.encoding import repair_mojibake
from symposia.importers.pipeline import (
    ImportReport,
    ReportEntry,
    import_paths,
    parse_bytes,
    parse_sessions,
    records_for,
    session_id_for,
    store_session,
)
from symposia.importers.records import ImportedSession, ImportedTurn, ImportError_

__all__ = [
    "ImportError_",
    "ImportReport",
    "ImportedSession",
    "ImportedTurn",
    "ReportEntry",
    "import_paths",
    "parse_bytes",
    "parse_sessions",
    "records_for",
    "repair_mojibake",
    "session_id_for",
    "store_session",
]
