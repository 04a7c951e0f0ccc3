"""Bytes -> text: UTF-8 only, newlines normalised, and mojibake (UTF-8 read as Mac Roman or CP1252
and saved again) undone, never corrupting clean text."""

from __future__ import annotations

import unicodedata

from ftfy.badness import is_bad

from symposia.importers.records import ImportError_

__all__ = ["decode_bytes", "repair_mojibake"]

_CP1252_UNDEFINED = frozenset((0x81, 0x8D, 0x8F, 0x90, 0x9D))
_BAD_CATEGORIES = frozenset(("Cc", "Cn", "Co", "Cs"))


def _plausible(fixed: str, original: str) -> bool:
    """A repair must not produce what clean text never has: control, unassigned or private-use
    characters, or a combining mark with no letter to sit on (``÷ü`` is Mac Roman for U+059F alone)."""
    prev = ""
    for ch in fixed:
        cat = unicodedata.category(ch)
        if ch not in original:
            if cat in _BAD_CATEGORIES and ch not in "\t\n\r":
                return False
            if cat in ("Mn", "Me") and not (prev and unicodedata.category(prev).startswith("L") and (
                    not prev.isascii() or 0x300 <= ord(ch) <= 0x36F)):
                return False
        if not unicodedata.category(ch).startswith("M"):
            prev = ch
    return True


def _encode_sloppy(text: str, encoding: str) -> bytes:
    """Encode, but let C1 controls stand for themselves: CP1252 leaves 5 bytes undefined, and tools
    that decoded UTF-8 as CP1252 kept those bytes as U+0081, U+008D, U+008F, U+0090, U+009D."""
    try:
        return text.encode(encoding)
    except UnicodeEncodeError:
        if encoding != "cp1252":
            raise
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode(encoding)
        except UnicodeEncodeError:
            if ord(ch) in _CP1252_UNDEFINED:
                out.append(ord(ch))
            else:
                raise
    return bytes(out)


def _roundtrip(text: str, encoding: str) -> str | None:
    try:
        fixed = _encode_sloppy(text, encoding).decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return None
    return fixed if _plausible(fixed, text) else None


def repair_mojibake(text: str) -> tuple[str, str | None]:
    """Undo UTF-8 that was read as Mac Roman or CP1252 and saved again ("‚Äî" -> "—").

    Returns the text and the encoding undone (None when nothing was changed). It acts only when the
    text looks wrong (ftfy's badness heuristic) and the reversal decodes cleanly, so text that is
    already good UTF-8 is left alone; whatever it changes can be turned back by re-encoding.
    Lines are repaired one by one, so a clean line added to a mojibake file later is kept as is.
    """
    if text.isascii():
        return text, None
    # badness only looks at non-ASCII runs: check just the lines that have any (fast on big files)
    if not is_bad("\n".join(line for line in text.split("\n") if not line.isascii())):
        return text, None
    encodings = ("mac_roman", "cp1252")
    for encoding in encodings:
        whole = _roundtrip(text, encoding)
        if whole is not None and whole != text:
            return whole, encoding
    # Mixed files: repair line by line with the encoding that explains the most lines (the two can
    # disagree on a line: "cafÃ©" is also valid Mac Roman mojibake, of a combining accent).
    lines = text.split("\n")
    best: tuple[int, str, list[str]] | None = None
    for encoding in encodings:
        fixed = [(_roundtrip(line, encoding) if not line.isascii() else None) or line for line in lines]
        count = sum(1 for f, line in zip(fixed, lines, strict=True) if f != line)
        if count and (best is None or count > best[0]):
            best = (count, encoding, fixed)
    if best is None:
        return text, None
    return "\n".join(best[2]), best[1]


def decode_bytes(raw: bytes) -> tuple[str, str | None]:
    """Bytes of a transcript -> text (mojibake repaired, newlines normalised) and the encoding undone.

    Raises :class:`ImportError_` for bytes that are not UTF-8 or not text.
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ImportError_(
            f"not UTF-8 (byte {raw[e.start]:#04x} at offset {e.start}): convert the file to UTF-8 "
            "(e.g. iconv -f WINDOWS-1252 -t UTF-8) and import it again"
        ) from None
    if "\x00" in text:
        raise ImportError_("binary file (contains NUL bytes), not a transcript")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return repair_mojibake(text)
