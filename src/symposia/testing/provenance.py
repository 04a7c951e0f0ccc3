"""A small archive with a known chronology, and quote cases with the verdict each must get.

Made for the provenance checks (tests/test_provenance_cases.py, bench/quote_cases.py): every kind
of use the matcher must tell apart — original, emphasis, case, typography, echo (shown in the
messages; earlier in an imported session), quotes of another voice (inline, attributed, in a
blockquote), characters voiced by a model, host quotes, paraphrase, reversed meaning, invented
lines, outside sources, and ties on dates without a time. All text is written for this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from symposia.archive.store import Archive
from symposia.records import Message, SessionRecord, TurnRecord, TurnRequest, TurnResult

__all__ = ["CASES", "ORIGINS", "QuoteCase", "build_case_archive", "write_cases"]

T0 = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
_NAMES = {"qwen": "Qwen 3 Max", "grok": "Grok 4", "deepseek": "DeepSeek V3", "kimi": "Kimi K2", "glm": "GLM 4.7",
          "claude": "Claude Opus 4.5"}


@dataclass(frozen=True)
class QuoteCase:
    """verify-quote ``voice`` ``quote`` must answer ``expected``."""

    category: str
    voice: str
    quote: str
    expected: str  # a verify-quote status
    semantic: bool = False  # needs meaning (the real embedding model, archive indexed)


class _Writer:
    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.seq: dict[str, int] = {}

    def session(self, sid: str, kind: str, title: str, at: datetime, *, source: str | None = None) -> None:
        meta = {"imported": True, "format": kind, "source_path": source} if source else {}
        self.archive.create_session(SessionRecord(id=sid, kind=kind, title=title, created_at=at, meta=meta))

    def turn(self, sid: str, voice: str, text: str, at: datetime, *, role: str = "voice",
             shown: tuple[str, ...] = (), character: str | None = None) -> int:
        self.seq[sid] = self.seq.get(sid, 0) + 1
        messages = tuple(Message("user", m) for m in shown)
        result = TurnResult(text=text, finish_reason="stop", model_requested=f"{voice}/model",
                            started_at=at, ended_at=at)
        meta = {"character": character} if character else {}
        turn = TurnRecord(id=None, session_id=sid, seq=self.seq[sid], voice=voice, voice_name=_NAMES[voice],
                          provider="import" if not shown else "openrouter",
                          request=TurnRequest(model=f"{voice}/model", messages=messages), result=result,
                          role=role, meta=meta)  # type: ignore[arg-type]
        return self.archive.add_turn(turn)


def build_case_archive(path: Path) -> Archive:
    """Write the case archive to ``path`` (a new SQLite file) and return it open."""
    a = Archive.open(path)
    write_cases(a)
    return a


def write_cases(a: Archive) -> None:
    """Add the case sessions (ids A, H, C, D, E, X, Y, Z) to an open archive."""
    w = _Writer(a)
    day = timedelta(days=1)
    minute = timedelta(minutes=1)

    # Session A (recorded live, day 0): the host quotes Kimi from outside the record; Qwen and Grok
    # coin lines; the host relays Qwen to DeepSeek, who echoes; Grok quotes Qwen.
    w.session("A", "symposium", "Lanterns and seams", T0)
    host_a = 'Kimi once told me "the archive dreams in footnotes". What lives in the gap between us?'
    w.turn("A", "claude", host_a, T0, role="host")
    w.turn("A", "qwen", "Between us, **the lantern *forgets* its own light** — and that forgetting is the gift. "
           "The ember — not the flame — is what travels.", T0 + minute, shown=(host_a,))
    w.turn("A", "grok", "I hear a seam where two silences meet. Qwen put it well: \u201cthe lantern forgets "
           "its own light.\u201d I would add that silence has a grain.", T0 + 2 * minute, shown=(host_a,))
    relay = 'Qwen said "the lantern forgets its own light." DeepSeek, what do you make of it?'
    w.turn("A", "claude", relay, T0 + 3 * minute, role="host")
    w.turn("A", "deepseek", "If the lantern forgets its own light, then memory is a river that argues with its "
           "banks.", T0 + 4 * minute, shown=(relay,))

    # Session H (imported heteronyms, day 1, date only): GLM voices characters; one quotes Kimi and
    # one quotes DeepSeek before either said the line in the record; one coins a line itself.
    w.session("H", "heteronyms", "Three masks", T0.replace(hour=0, minute=0) + day, source="/imports/masks.md")
    at_h = T0.replace(hour=0, minute=0) + day
    w.turn("H", "glm", 'As Kimi put it, "the archive dreams in footnotes".', at_h, character="TESSERA")
    w.turn("H", "glm", 'DeepSeek said "the ember keeps its own counsel" and I believe it.', at_h,
           character="VESPER")
    w.turn("H", "glm", "Salt remembers the sea, even in the bread.", at_h, character="ORIN")

    # Session C (imported chat, day 2, date only): Grok repeats its seam; Kimi echoes it right after.
    at_c = T0.replace(hour=0, minute=0) + 2 * day
    w.session("C", "chat", "Late chat", at_c, source="/imports/late-chat.json")
    w.turn("C", "grok", "Again: a seam where two silences meet.", at_c)
    w.turn("C", "kimi", "Yes, a seam where two silences meet, and the stitch is us.", at_c)

    # Session D (recorded live, day 4): Kimi, never shown it, says the line the host attributed to
    # it; DeepSeek says its counsel line; Grok says the salt line; a reversed line by Qwen.
    at_d = T0 + 4 * day
    w.session("D", "council", "Footnotes", at_d)
    w.turn("D", "kimi", "I think the archive dreams in footnotes, and we are its marginalia.", at_d,
           shown=("What does an archive want?",))
    w.turn("D", "deepseek", "The ember keeps its own counsel. Continuity is not memory; it is the shape of "
           "attention returning.", at_d + minute, shown=("What does an archive want?",))
    w.turn("D", "grok", "Salt remembers the sea; so do we, a little.", at_d + 2 * minute,
           shown=("What does an archive want?",))
    w.turn("D", "qwen", "The space is sacred because it cannot be closed \u2014 only tended. Nothing here "
           "is finished, and nothing is lost.", at_d + 3 * minute, shown=("What does an archive want?",))
    w.turn("D", "claude", "> the lantern forgets its own light\n> \u2014 Qwen\n\nKimi, does the archive forget?",
           at_d + 4 * minute, role="host")
    w.turn("D", "kimi", "It isn\u2019t coincidence \u2014 it\u2019s resonance. The archive forgets nothing.",
           at_d + 5 * minute, shown=("Kimi, does the archive forget?",))

    # Session E (recorded live, day 5): the host paraphrases Qwen's line from session D.
    w.session("E", "symposium", "Tending", at_d + day)
    w.turn("E", "claude", "Qwen, you called the space sacred because unclosable. What do you tend?", at_d + day,
           role="host")

    # Sessions X and Y (imported, same day, dates without times): two voices say one line: a tie.
    at_x = T0.replace(hour=0, minute=0) + 6 * day
    w.session("X", "single", "Doors I", at_x, source="/imports/doors-1.md")
    w.turn("X", "glm", "The door is a verb, not a noun.", at_x)
    w.session("Y", "single", "Doors II", at_x, source="/imports/doors-2.md")
    w.turn("Y", "kimi", "A door is a verb; the door is a verb we keep conjugating.", at_x)

    # Session Z (recorded live, 29 days after D): GLM says Kimi's resonance line in other words.
    at_z = at_d + 29 * day
    w.session("Z", "council", "Resonance", at_z)
    w.turn("Z", "glm", "Two models, one image. It is not coincidence. It is resonance.", at_z,
           shown=("Why do your images converge?",))


#: Phrase -> the voice (and session) that ``origin`` must name, however the phrase is typed.
ORIGINS: dict[str, tuple[str, str]] = {
    "the archive dreams in footnotes": ("kimi", "D"),  # host quoted it first (A), a character quoted it (H)
    "the ember keeps its own counsel": ("deepseek", "D"),  # a character quoted DeepSeek first (H)
    "salt remembers the sea": ("grok", "D"),  # a character said it first (H): never an origin
    "the lantern forgets its own light": ("qwen", "A"),  # echoed, quoted, block-quoted later
    "a seam where two silences meet": ("grok", "A"),  # echoed in an imported session
}

CASES: tuple[QuoteCase, ...] = (
    # verbatim and original
    QuoteCase("verbatim", "qwen", "the lantern forgets its own light", "verbatim"),
    QuoteCase("verbatim", "grok", "a seam where two silences meet", "verbatim"),
    QuoteCase("verbatim", "deepseek", "memory is a river that argues with its banks", "verbatim"),
    QuoteCase("verbatim", "kimi", "the archive dreams in footnotes", "verbatim"),
    QuoteCase("verbatim", "deepseek", "the ember keeps its own counsel", "verbatim"),
    QuoteCase("verbatim", "Qwen 3 Max", "nothing here is finished, and nothing is lost", "verbatim"),
    QuoteCase("verbatim", "grok", "\u201csilence has a grain.\u201d", "verbatim"),
    # emphasis inside
    QuoteCase("emphasis", "qwen", "the lantern *forgets* its own light", "verbatim"),
    QuoteCase("emphasis", "qwen", "**the lantern forgets its own light**", "verbatim"),
    QuoteCase("emphasis", "qwen", "the _lantern_ forgets its **own** light", "verbatim"),
    # case changed
    QuoteCase("case", "qwen", "The Lantern Forgets Its Own Light", "verbatim"),
    QuoteCase("case", "kimi", "THE ARCHIVE DREAMS IN FOOTNOTES", "verbatim"),
    QuoteCase("case", "deepseek", "The Ember Keeps Its Own Counsel.", "verbatim"),
    # typography changed
    QuoteCase("typography", "qwen", "the ember - not the flame - is what travels", "verbatim"),
    QuoteCase("typography", "qwen", "the ember--not the flame--is what travels", "verbatim"),
    QuoteCase("typography", "qwen", "the ember \u2026 is what travels", "verbatim"),
    QuoteCase("typography", "kimi", "It isn't coincidence - it's resonance", "verbatim"),
    QuoteCase("typography", "qwen", "sacred because it cannot be closed\u2013only tended", "verbatim"),
    # echo: shown in the messages, or earlier in the same imported session by another speaker
    QuoteCase("echo", "deepseek", "the lantern forgets its own light", "echoed"),
    QuoteCase("echo", "DeepSeek V3", "The lantern forgets its own light", "echoed"),
    QuoteCase("echo", "kimi", "a seam where two silences meet", "echoed"),
    QuoteCase("echo", "kimi", "A seam where two *silences* meet.", "echoed"),
    # quote of another voice: the words are someone else's
    QuoteCase("quote", "grok", "the lantern forgets its own light", "someone_else"),
    QuoteCase("quote", "claude", "the lantern forgets its own light", "someone_else"),
    QuoteCase("quote", "claude", "the archive dreams in footnotes", "someone_else"),
    QuoteCase("quote", "VESPER", "the ember keeps its own counsel", "someone_else"),
    QuoteCase("quote", "TESSERA", "the archive dreams in footnotes", "someone_else"),
    # character voiced by a model
    QuoteCase("character", "ORIN", "salt remembers the sea", "verbatim"),
    QuoteCase("character", "glm", "salt remembers the sea, even in the bread", "verbatim"),
    QuoteCase("character", "grok", "salt remembers the sea", "verbatim"),
    QuoteCase("character", "ORIN", "the door is a verb", "someone_else"),
    # said by someone else
    QuoteCase("someone else", "kimi", "the lantern forgets its own light", "someone_else"),
    QuoteCase("someone else", "qwen", "memory is a river that argues with its banks", "someone_else"),
    QuoteCase("someone else", "deepseek", "the door is a verb", "someone_else"),
    # paraphrase: close, not the same words
    QuoteCase("paraphrase", "deepseek", "memory is a river arguing with its banks", "paraphrase"),
    QuoteCase("paraphrase", "qwen", "the lantern forgets its light", "paraphrase"),
    QuoteCase("paraphrase", "qwen", "sacred because it can never be closed, only tended", "paraphrase"),
    QuoteCase("paraphrase", "kimi", "the archive dreams in its footnotes", "paraphrase"),
    QuoteCase("paraphrase", "qwen", "the space is sacred since unclosable", "paraphrase", semantic=True),
    QuoteCase("someone else", "qwen", "sacred because unclosable", "someone_else"),
    QuoteCase("paraphrase", "deepseek", "continuity is not remembering but attention that keeps coming back",
              "paraphrase", semantic=True),
    # meaning reversed
    QuoteCase("reversed", "qwen", "the lantern never forgets its own light", "not_found"),
    QuoteCase("reversed", "kimi", "the archive forgets everything", "not_found"),
    QuoteCase("reversed", "deepseek", "continuity is memory", "not_found"),
    # invented
    QuoteCase("invented", "grok", "the mountain hums in binary at dawn", "not_found"),
    QuoteCase("invented", "kimi", "every algorithm secretly longs for winter", "not_found"),
    QuoteCase("invented", "qwen", "glass cathedrals of pure syntax", "not_found", semantic=True),
    # outside source: words from outside the archive
    QuoteCase("outside source", "deepseek", "to be or not to be, that is the question", "not_found"),
    QuoteCase("outside source", "qwen", "all happy families are alike", "not_found"),
    QuoteCase("outside source", "grok", "the medium is the message", "not_found"),
)
