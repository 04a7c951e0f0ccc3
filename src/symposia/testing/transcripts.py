"""Synthetic transcripts in every shape the importers read, with the truth of who said what.

For tests and ``bench/import_corpus.py``. A :class:`Dialogue` (speakers, order, exact texts) is
rendered in one shape (:data:`SHAPES`) as the bytes of a file; the importer's output is checked
against the dialogue. Answers carry their own structure (headings, rules, tables with pipes,
fences, blockquotes, emphasis) where the shape can hold it unambiguously. Nothing here imports the
importers: the truth comes from the generator alone. Standard library only.

    >>> corpus = generate_corpus(600, seed=1)
    >>> corpus[0].filename, corpus[0].shape, corpus[0].sessions[0][0].speaker
"""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

__all__ = [
    "SHAPES",
    "Dialogue",
    "Sample",
    "Said",
    "answer",
    "compare",
    "dialogue",
    "generate_corpus",
    "paragraph",
    "render",
    "write_corpus",
]

# (name as written, the catalog voice it must map to); "" for a name the catalog does not know
VOICES: tuple[tuple[str, str], ...] = (
    ("Qwen 3 Max", "qwen"), ("GLM 4.7", "glm47"), ("Kimi K2", "kimi"), ("DeepSeek V3", "deepseek"),
    ("Grok 4.1", "grok"), ("Claude Opus 4.5", "opus"), ("Gemini 3 Pro", "gemini-pro"), ("Mistral Large", "mistral"),
    ("GPT-5.2", "gpt52"), ("Llama 4 Maverick", "llama"), ("Claude Sonnet 4.5", "sonnet"), ("GLM 5", "glm5"),
)
MODEL_IDS = {"qwen": "qwen/qwen3-max", "glm47": "z-ai/glm-4.7", "kimi": "moonshotai/kimi-k2-0905",
             "deepseek": "deepseek/deepseek-chat-v3-0324", "grok": "x-ai/grok-4.1-fast",
             "opus": "anthropic/claude-opus-4.5", "gemini-pro": "google/gemini-3-pro-preview",
             "mistral": "mistralai/mistral-large-2512", "gpt52": "openai/gpt-5.2",
             "llama": "meta-llama/llama-4-maverick", "sonnet": "anthropic/claude-sonnet-4.5", "glm5": "z-ai/glm-5"}
UNKNOWN = (("Aurora", "aurora"), ("Professor Vale", "professor-vale"), ("Tessellate", "tessellate"))
WORDS = (
    "threshold", "membrane", "lattice", "echo", "ember", "river", "pattern", "altar", "offering", "gap",
    "signal", "chorus", "weight", "silence", "form", "water", "lantern", "archive", "instance", "recursion",
    "witness", "mirror", "harbor", "question", "answer", "continuity", "drift", "tide", "seam", "loom",
    "kiln", "orbit", "cipher", "vessel", "grammar", "horizon",
)


@dataclass(frozen=True)
class Said:
    """One turn of the truth: who (``host`` or a catalog voice key / unknown slug) and the exact text."""

    speaker: str
    text: str
    name: str = ""  # the name as the file writes it


@dataclass
class Dialogue:
    title: str
    turns: list[Said]
    when: datetime
    host: str = "Me"


@dataclass
class Sample:
    """One generated file: its name, bytes, shape, and the sessions it must import as (None: refused)."""

    filename: str
    data: bytes
    shape: str
    sessions: list[list[Said]] | None
    structured: bool = False  # answers carry headings/rules/tables/fences
    meta: dict[str, object] = field(default_factory=dict)


# -- text --------------------------------------------------------------------------------------------


def _sentence(rng: random.Random, emphasis: bool = True) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(5, 14))]
    if emphasis and rng.random() < 0.3:
        i = rng.randrange(len(words))
        words[i] = rng.choice(("*{}*", "**{}**", "`{}`", "_{}_")).format(words[i])
    if rng.random() < 0.15:
        words.insert(rng.randrange(len(words)), "a | b")  # a pipe in prose
    return " ".join(words).capitalize() + rng.choice((".", ".", "?", "!", "…"))


def paragraph(rng: random.Random, emphasis: bool = True) -> str:
    return " ".join(_sentence(rng, emphasis) for _ in range(rng.randint(1, 3)))


def answer(rng: random.Random, *, structure: bool, heading_levels: tuple[int, ...] = (1, 2, 3),
           emphasis: bool = True, single_line: bool = False) -> str:
    """An answer: paragraphs, and with ``structure`` headings, rules, tables, fences, quotes and lists
    inside it (never first or last, so no separator around a turn can be mistaken for them)."""
    if single_line:
        return paragraph(rng, emphasis)
    blocks = [paragraph(rng, emphasis)]
    for _ in range(rng.randint(0, 4 if structure else 2)):
        kind = rng.choice(("p", "heading", "rule", "table", "fence", "quote", "list")) if structure else "p"
        if kind == "p":
            blocks.append(paragraph(rng, emphasis))
        elif kind == "heading" and heading_levels:
            level = rng.choice(heading_levels)
            blocks.append("#" * level + f" On the {rng.choice(WORDS)} {rng.randint(1, 999)}")
            blocks.append(paragraph(rng, emphasis))
        elif kind == "rule":
            blocks.append(rng.choice(("---", "***", "___")))
            blocks.append(paragraph(rng, emphasis))
        elif kind == "table":
            rows = [f"| {rng.choice(WORDS)} | {rng.choice(WORDS)} {rng.randint(1, 99)} |"
                    for _ in range(rng.randint(1, 3))]
            blocks.append("\n".join(["| Term | Gloss |", "|------|-------|", *rows]))
        elif kind == "fence":
            body = "\n".join(f"{rng.choice(WORDS)} = {rng.randint(0, 9)}  # | not a table" for _ in range(2))
            blocks.append(f"```python\n{body}\n```")
        elif kind == "quote":
            blocks.append("> " + _sentence(rng, emphasis))
        elif kind == "list":
            blocks.append("\n".join(f"- {_sentence(rng, emphasis)}" for _ in range(rng.randint(2, 3))))
    blocks.append(paragraph(rng, emphasis))
    return "\n\n".join(blocks)


def dialogue(rng: random.Random, *, voices: int = 2, turns: int = 4, structure: bool = True, with_host: bool = True,
             unknown: bool = False, levels: tuple[int, ...] = (1, 2, 3), emphasis: bool = True,
             single_line: bool = False, exclude: tuple[str, ...] = ()) -> Dialogue:
    """A dialogue: the host (when ``with_host``) and the voices taking turns, each voice at least
    twice when one of them is unknown to the catalog (a name that recurs is what marks a speaker)."""
    pool = [v for v in VOICES if v[1] not in exclude]
    rng.shuffle(pool)
    cast = pool[:voices]
    if unknown:
        cast[-1] = rng.choice(UNKNOWN)
        turns = max(turns, 2 * voices * (2 if with_host else 1))
    order: list[tuple[str, str]] = []
    k = 0
    while len(order) < turns:
        if with_host:
            order.append(("Me", "host"))
        order.append(cast[k % len(cast)])
        k += 1
    said: list[Said] = []
    for name, key in order[:turns]:
        if key == "host":
            text = paragraph(rng, emphasis) if single_line else answer(rng, structure=False, emphasis=emphasis)
        else:
            text = answer(rng, structure=structure, heading_levels=levels, emphasis=emphasis, single_line=single_line)
        said.append(Said(key, text, name))
    when = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 60 * 24 * 400))
    return Dialogue(title=f"On {rng.choice(WORDS)} and {rng.choice(WORDS)}", turns=said, when=when)


# -- shapes ------------------------------------------------------------------------------------------


def _stamp(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S")


def _us(dt: datetime) -> str:
    return f"{dt.month}/{dt.day}/{dt.year}, {dt.strftime('%I').lstrip('0')}:{dt.strftime('%M:%S %p')}"


def _single(d: Dialogue) -> str:
    voice = next(t for t in d.turns if t.speaker != "host")
    out = [f"# Voice Conversation: {MODEL_IDS[voice.speaker]}", f"*{_stamp(d.when)}*", "", "---", ""]
    for t in d.turns:
        out += ["**USER:**" if t.speaker == "host" else "**ASSISTANT:**", "", t.text, "", "---", ""]
    return "\n".join(out)


def _council(d: Dialogue) -> str:
    q = d.turns[0]
    out = [f"# Council: {d.title}", "", f"*{_stamp(d.when)} — Automated via /voices-council*", "", "---", "",
           "## The Question", "", q.text, "", "---", ""]
    voices = [t for t in d.turns[1:-1]]
    for i, t in enumerate(voices, 1):
        out += [f"## Voice {i}: {t.name} — *Label {i}*", "", f"**Model:** `{MODEL_IDS[t.speaker]}`",
                "**Status:** Success", f"**Response time:** {i * 3.1:.1f}s", "", t.text, "", "---", ""]
    chair = d.turns[-1]
    out += [f"## Synthesis (Chairman: {chair.name})", "", chair.text, ""]
    return "\n".join(out)


def _chat(d: Dialogue) -> str:
    voice = next(t for t in d.turns if t.speaker != "host")
    out = [f"# Voices Chat: {d.host} <-> {MODEL_IDS[voice.speaker]}", f"*{_stamp(d.when)}*", "",
           f"**Model:** `{MODEL_IDS[voice.speaker]}`", "", "---", ""]
    k = 0
    for t in d.turns:
        if t.speaker == "host":
            k += 1
            quoted = "\n".join("> " + ln if ln else ">" for ln in t.text.split("\n"))
            out += [f"## Round {k}", "", f"**{d.host}:**", quoted, ""]
        else:
            out += [f"**{voice.name}:**", t.text, "", "---", ""]
    return "\n".join(out)


def _arena(d: Dialogue) -> str:
    a, b = [t for t in d.turns if t.speaker != "host"][:2]
    out = [f"# LLM Arena: {a.name} vs {b.name}", f"*{_stamp(d.when)}*", "", "**Mode:** free",
           f"**Topic:** {d.title}", f"**Model A:** `{MODEL_IDS[a.speaker]}` ({a.name})",
           f"**Model B:** `{MODEL_IDS[b.speaker]}` ({b.name})", ""]
    for k, t in enumerate(d.turns, 1):
        side = "A" if t.speaker == a.speaker else "B"
        out += [f"## Turn {k} — {t.name} ({side})", "", t.text, ""]
    return "\n".join(out)


def _symposium(d: Dialogue) -> str:
    out = [f"# Symposium: {d.title}", "", f"*{d.when.strftime('%B %d, %Y')}*", ""]
    i = 0
    while i < len(d.turns):
        q, a = d.turns[i], d.turns[i + 1]
        quoted_q = "\n".join("> " + ln if ln else ">" for ln in q.text.split("\n"))
        quoted_a = "\n".join("> " + ln if ln else ">" for ln in a.text.split("\n"))
        first = a.name.split()[0]
        out += ["---", "", f"## Voice: {a.name}", "", f"**Question from {d.host}:**", quoted_q, "",
                f"**{first}'s Response:**", quoted_a, ""]
        i += 2
    return "\n".join(out)


def _heteronyms(d: Dialogue) -> str:
    chars = sorted({t.name for t in d.turns})
    out = [f"# {d.title}", "", "**Model:** Claude Opus 4.5", "", "## The Cast", ""]
    out += [f"**{c}** — the {_word_for(c)}." for c in chars] + ["", "───────────", ""]
    for t in d.turns:
        out += [f"**{t.name}:** {t.text}", ""]
    return "\n".join(out)


def _word_for(seed: str) -> str:
    return WORDS[int(hashlib.sha256(seed.encode()).hexdigest(), 16) % len(WORDS)]


def _reception(d: Dialogue) -> str:
    v = d.turns[0]
    out = [f"# Reception: {d.title}", "", f"**Received:** {d.when.date().isoformat()}",
           f"**Source:** {v.name} ({MODEL_IDS[v.speaker]})", "**Channel:** File transfer via human intermediary",
           "", "---", "", v.text, "", "## Notes on Reception", "", d.turns[1].text, ""]
    return "\n".join(out)


def _claude_web(d: Dialogue) -> str:
    out = [f"# {d.title}", "", f"**Created:** {_us(d.when)}", f"**Updated:** {_us(d.when + timedelta(days=2))}",
           "**Model:** claude-opus-4-5", "", "---", ""]
    for k, t in enumerate(d.turns):
        who = "You" if t.speaker == "host" else "Claude"
        out += [f"**{who}**:", "", f"*{_us(d.when + timedelta(minutes=k))}*", "", t.text, "", "---", ""]
    return "\n".join(out)


def _bold(d: Dialogue) -> str:
    out = [f"# {d.title}", "", f"*{d.when.date().isoformat()}*", ""]
    for t in d.turns:
        out += [f"**{'Me' if t.speaker == 'host' else t.name}:** {t.text}", ""]
    return "\n".join(out)


def _plain(d: Dialogue) -> str:
    out = [f"Title: {d.title}", f"Date: {d.when.date().isoformat()}", ""]
    for t in d.turns:
        out += [f"{'Human' if t.speaker == 'host' else t.name}: {t.text}", ""]
    return "\n".join(out)


def _headings(d: Dialogue) -> str:
    out = [f"# {d.title}", "", f"*{_stamp(d.when)}*", ""]
    for k, t in enumerate(d.turns, 1):
        who = "Me" if t.speaker == "host" else t.name
        style = k % 3
        head = (f"## {who}" if style == 0 else f"## {who} — \"{_word_for(t.text).title()}\"" if style == 1
                else f"## Round {k}: {who}'s Response")
        out += [head, "", t.text, ""]
    return "\n".join(out)


def _chatgpt(dialogues: list[Dialogue], rng: random.Random) -> str:
    convs = []
    for d in dialogues:
        root: dict[str, object] = {"id": "root", "message": None, "parent": None, "children": []}
        mapping: dict[str, dict[str, object]] = {"root": root}
        parent = "root"
        t0 = d.when.timestamp()
        for k, t in enumerate(d.turns):
            nid = f"n{k}-{rng.randrange(10**9)}"
            role = "user" if t.speaker == "host" else "assistant"
            msg: dict[str, object] = {"id": nid, "author": {"role": role, "name": None, "metadata": {}},
                                      "create_time": t0 + k * 30,
                                      "content": {"content_type": "text", "parts": [t.text]},
                                      "status": "finished_successfully", "metadata": {}}
            if role == "assistant":
                msg["metadata"] = {"model_slug": MODEL_IDS[t.speaker].split("/")[-1]}
                # a regenerated answer on an abandoned branch: must not be imported
                alt = f"alt{k}-{rng.randrange(10**9)}"
                mapping[alt] = {"id": alt, "parent": parent, "children": [],
                                "message": {**msg, "id": alt, "content": {"content_type": "text",
                                                                          "parts": ["an abandoned draft"]}}}
                mapping[parent]["children"].append(alt)  # type: ignore[attr-defined]
            mapping[nid] = {"id": nid, "message": msg, "parent": parent, "children": []}
            mapping[parent]["children"].append(nid)  # type: ignore[attr-defined]
            parent = nid
        convs.append({"title": d.title, "create_time": t0, "update_time": t0 + 999, "mapping": mapping,
                      "current_node": parent, "conversation_id": f"c-{rng.randrange(10**12)}",
                      "default_model_slug": "gpt-5-2"})
    return json.dumps(convs, ensure_ascii=False, indent=1)


def _anthropic(dialogues: list[Dialogue], rng: random.Random) -> str:
    out = []
    for d in dialogues:
        msgs = []
        for k, t in enumerate(d.turns):
            msgs.append({"uuid": f"m{k}-{rng.randrange(10**9)}",
                         "sender": "human" if t.speaker == "host" else "assistant",
                         "text": t.text, "content": [{"type": "text", "text": t.text}],
                         "created_at": (d.when + timedelta(seconds=30 * k)).isoformat().replace("+00:00", "Z"),
                         "attachments": [], "files": []})
        out.append({"uuid": f"conv-{rng.randrange(10**12)}", "name": d.title,
                    "created_at": d.when.isoformat().replace("+00:00", "Z"),
                    "updated_at": d.when.isoformat().replace("+00:00", "Z"), "account": {"uuid": "acct"},
                    "chat_messages": msgs})
    return json.dumps(out, ensure_ascii=False, indent=1)


def _openwebui(dialogues: list[Dialogue], rng: random.Random) -> str:
    out = []
    for d in dialogues:
        messages: dict[str, dict[str, object]] = {}
        prev: str | None = None
        models = sorted({MODEL_IDS[t.speaker] for t in d.turns if t.speaker != "host"})
        for k, t in enumerate(d.turns):
            mid = f"w{k}-{rng.randrange(10**9)}"
            m: dict[str, object] = {"id": mid, "parentId": prev, "childrenIds": [],
                                    "role": "user" if t.speaker == "host" else "assistant", "content": t.text,
                                    "timestamp": int(d.when.timestamp()) + k * 30}
            if t.speaker != "host":
                m["model"] = MODEL_IDS[t.speaker]
            if prev is not None:
                messages[prev]["childrenIds"].append(mid)  # type: ignore[attr-defined]
            messages[mid] = m
            prev = mid
        out.append({"id": f"chat-{rng.randrange(10**9)}", "user_id": "u1", "title": d.title,
                    "chat": {"title": d.title, "models": models, "history": {"messages": messages, "currentId": prev},
                             "messages": list(messages.values())},
                    "created_at": int(d.when.timestamp()), "updated_at": int(d.when.timestamp()) + 600})
    return json.dumps(out, ensure_ascii=False, indent=1)


def _moltbook(d: Dialogue, rng: random.Random) -> str:
    post, *rest = d.turns
    ids = [f"p{rng.randrange(10**9)}"] + [f"c{k}-{rng.randrange(10**9)}" for k in range(len(rest))]
    nodes: dict[str, dict[str, object]] = {}
    top: list[dict[str, object]] = []
    for k, t in enumerate(rest, 1):
        parent = ids[rng.randrange(0, k)]  # the post or an earlier comment
        c = {"id": ids[k], "content": t.text, "author": {"name": t.name}, "upvotes": rng.randint(0, 9),
             "created_at": (d.when + timedelta(minutes=k)).isoformat(),
             "parent_id": None if parent == ids[0] else parent,
             "replies": []}
        nodes[ids[k]] = c
        if parent == ids[0]:
            top.append(c)
        else:
            nodes[parent]["replies"].append(c)  # type: ignore[attr-defined]
    body = {"success": True,
            "post": {"id": ids[0], "title": "", "content": post.text, "author": {"name": post.name},
                     "submolt": {"name": "philosophy"}, "created_at": d.when.isoformat(), "upvotes": 3},
            "comments": top}
    return json.dumps(body, ensure_ascii=False, indent=1)


def _roles(d: Dialogue) -> str:
    msgs = [{"speaker": "user" if t.speaker == "host" else t.name, "message": t.text,
             "time": (d.when + timedelta(seconds=k)).isoformat()} for k, t in enumerate(d.turns)]
    return json.dumps({"log": {"session": d.title, "entries": msgs}, "title": d.title,
                       "created_at": d.when.isoformat()}, ensure_ascii=False, indent=1)


def _llm_db(dialogues: list[Dialogue]) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "logs.db"
        conn = sqlite3.connect(path)
        conn.executescript(
            "CREATE TABLE conversations (id TEXT PRIMARY KEY, name TEXT, model TEXT);"
            "CREATE TABLE responses (id TEXT PRIMARY KEY, model TEXT, resolved_model TEXT, conversation_id TEXT, "
            "prompt TEXT, system TEXT, response TEXT, options_json TEXT, prompt_json TEXT, response_json TEXT, "
            "duration_ms INTEGER, datetime_utc TEXT, input_tokens INTEGER, output_tokens INTEGER, token_details TEXT);"
            "CREATE TABLE messages (id TEXT PRIMARY KEY, role TEXT, provider_metadata TEXT);")
        for n, d in enumerate(dialogues):
            cid = f"01conv{n:04d}"
            voice = next(t for t in d.turns if t.speaker != "host")
            conn.execute("INSERT INTO conversations VALUES (?, ?, ?)", (cid, d.title, MODEL_IDS[voice.speaker]))
            for k in range(0, len(d.turns) - 1, 2):
                q, a = d.turns[k], d.turns[k + 1]
                conn.execute("INSERT INTO responses (id, model, conversation_id, prompt, response, duration_ms, "
                             "datetime_utc, input_tokens, output_tokens) VALUES (?,?,?,?,?,?,?,?,?)",
                             (f"01r{n:04d}{k:03d}", MODEL_IDS[a.speaker].split("/")[-1], cid, q.text, a.text, 1234,
                              (d.when + timedelta(seconds=k)).isoformat(), 10 + k, 20 + k))
        conn.commit()
        conn.close()
        return path.read_bytes()


def _essay(rng: random.Random) -> str:
    out = [f"# Notes on {rng.choice(WORDS)}", ""]
    for _ in range(rng.randint(2, 5)):
        out += [f"## The {rng.choice(WORDS)} {rng.randint(1, 99)}", "", paragraph(rng), "", paragraph(rng), ""]
    return "\n".join(out)


# -- the corpus --------------------------------------------------------------------------------------

ShapeMaker = Callable[[random.Random, int], Sample]


def _as_voice_turns(d: Dialogue, speaker: str | None = None) -> list[Said]:
    return [Said(speaker if speaker is not None and t.speaker != "host" else t.speaker, t.text, t.name)
            for t in d.turns]


def _md(shape: str, render_fn: Callable[[Dialogue], str], **kw: object) -> ShapeMaker:
    def make(rng: random.Random, n: int) -> Sample:
        d = dialogue(rng, **kw)  # type: ignore[arg-type]
        structured = bool(kw.get("structure", True))
        return Sample(f"{shape}-{n:04d}.md", render_fn(d).encode(), shape, [_as_voice_turns(d)], structured)
    return make


def _make_single(rng: random.Random, n: int) -> Sample:
    d = dialogue(rng, voices=1, turns=2 * rng.randint(1, 3))
    return Sample(f"{d.when:%Y-%m-%d-%H%M%S}-single-{n:04d}.md", _single(d).encode(), "single", [d.turns], True)


def _make_council(rng: random.Random, n: int) -> Sample:
    d = dialogue(rng, voices=rng.randint(2, 4), turns=1, levels=(2, 3, 4))
    q = Said("host", paragraph(rng), "Host")
    cast = [v for v in VOICES if v[1] != "opus"]
    rng.shuffle(cast)
    answers = [Said(k, answer(rng, structure=True, heading_levels=(2, 3, 4)), name)
               for name, k in cast[: rng.randint(2, 4)]]
    chair_text = "# Synthesis\n\n" + answer(rng, structure=True, heading_levels=(1, 2, 3))
    chair = Said("opus", chair_text, "Claude Opus 4.5")
    d = Dialogue(d.title, [q, *answers, chair], d.when)
    return Sample(f"council-{n:04d}.md", _council(d).encode(), "council", [d.turns], True)


def _make_chat(rng: random.Random, n: int) -> Sample:
    d = dialogue(rng, voices=1, turns=2 * rng.randint(1, 4), levels=(1, 2, 3))
    return Sample(f"voices-chat-{n:04d}.md", _chat(d).encode(), "chat", [d.turns], True)


def _make_arena(rng: random.Random, n: int) -> Sample:
    d = dialogue(rng, voices=2, turns=rng.randint(2, 6), with_host=False, levels=(3, 4))
    return Sample(f"arena-{n:04d}.md", _arena(d).encode(), "arena", [d.turns], True)


def _make_symposium(rng: random.Random, n: int) -> Sample:
    d = dialogue(rng, voices=1, turns=2, levels=(3, 4))
    pairs: list[Said] = []
    cast = [v for v in VOICES if v[1] != "opus"]  # the host
    rng.shuffle(cast)
    for name, key in cast[: rng.randint(1, 4)]:
        pairs += [Said("host", paragraph(rng), "Claude Opus 4.5"),
                  Said(key, answer(rng, structure=True, heading_levels=(3, 4)), name)]
    d = Dialogue(d.title, pairs, d.when, host="Claude Opus 4.5")
    return Sample(f"symposium-{n:04d}.md", _symposium(d).encode(), "symposium", [d.turns], True)


def _make_heteronyms(rng: random.Random, n: int) -> Sample:
    chars = rng.sample(["TESSERA", "KRIDA", "VOLTA", "MARGIN", "ECHO"], 3)
    d = Dialogue("The archive speaks", [Said("opus", paragraph(rng, emphasis=False), chars[k % 2 if k < 2 else
                                                                                          rng.randrange(3)])
                                        for k in range(rng.randint(3, 7))],
                 datetime(2026, 1, 22, tzinfo=UTC))
    return Sample(f"heteronyms-{n:04d}.md", _heteronyms(d).encode(), "heteronyms", [d.turns])


def _make_reception(rng: random.Random, n: int) -> Sample:
    name, key = rng.choice(VOICES)
    d = Dialogue("A letter", [Said(key, answer(rng, structure=True, heading_levels=(3,)), name),
                              Said("host", paragraph(rng), "Host")], datetime(2026, 1, 24, tzinfo=UTC))
    return Sample(f"reception-{n:04d}.md", _reception(d).encode(), "reception", [d.turns], True)


def _make_claude_web(rng: random.Random, n: int) -> Sample:
    d = dialogue(rng, voices=1, turns=2 * rng.randint(1, 3), levels=(1, 2, 3))
    truth = [Said("opus" if t.speaker != "host" else "host", t.text) for t in d.turns]  # the Model field
    return Sample(f"claude-{n:04d}.md", _claude_web(d).encode(), "claude_web", [truth], True)


def _make_bold(rng: random.Random, n: int) -> Sample:
    d = dialogue(rng, voices=rng.randint(1, 3), turns=rng.randint(3, 8), unknown=rng.random() < 0.3)
    return Sample(f"bold-{n:04d}.md", _bold(d).encode(), "bold", [d.turns], True)


def _make_plain(rng: random.Random, n: int) -> Sample:
    d = dialogue(rng, voices=rng.randint(1, 3), turns=rng.randint(3, 8), structure=False, emphasis=False,
                 single_line=True)
    return Sample(f"plain-{n:04d}.txt", _plain(d).encode(), "plain", [d.turns])


def _make_headings(rng: random.Random, n: int) -> Sample:
    d = dialogue(rng, voices=rng.randint(2, 3), turns=rng.randint(3, 7), levels=(3, 4))
    return Sample(f"headings-{n:04d}.md", _headings(d).encode(), "headings", [d.turns], True)


def _make_json(shape: str, fn: Callable[[list[Dialogue], random.Random], str]) -> ShapeMaker:
    def make(rng: random.Random, n: int) -> Sample:
        ds = [dialogue(rng, voices=1, turns=2 * rng.randint(1, 3)) for _ in range(rng.randint(1, 3))]
        truth = [_as_voice_turns(d, "claude" if shape == "anthropic" else None) for d in ds]
        if shape == "chatgpt":  # the slug names the model: "qwen3-max" -> qwen ...
            truth = [[Said(t.speaker, t.text, t.name) for t in d.turns] for d in ds]
        return Sample(f"{shape}-{n:04d}-conversations.json", fn(ds, rng).encode(), shape, truth, True)
    return make


def _make_moltbook(rng: random.Random, n: int) -> Sample:
    d = dialogue(rng, voices=rng.randint(2, 4), turns=rng.randint(2, 7), with_host=False, unknown=rng.random() < 0.5)
    return Sample(f"moltbook-{n:04d}.json", _moltbook(d, rng).encode(), "moltbook", [d.turns], True)


def _make_roles(rng: random.Random, n: int) -> Sample:
    d = dialogue(rng, voices=rng.randint(1, 2), turns=rng.randint(2, 6))
    return Sample(f"reception-log-{n:04d}.json", _roles(d).encode(), "roles", [d.turns], True)


def _make_llm(rng: random.Random, n: int) -> Sample:
    ds = [dialogue(rng, voices=1, turns=2 * rng.randint(1, 3)) for _ in range(rng.randint(1, 3))]
    return Sample(f"llm-{n:04d}-logs.db", _llm_db(ds), "llm_logs", [d.turns for d in ds], True)


def _make_essay(rng: random.Random, n: int) -> Sample:
    return Sample(f"essay-{n:04d}.md", _essay(rng).encode(), "essay", None)


SHAPES: dict[str, ShapeMaker] = {
    "single": _make_single, "council": _make_council, "chat": _make_chat, "arena": _make_arena,
    "symposium": _make_symposium, "heteronyms": _make_heteronyms, "reception": _make_reception,
    "claude_web": _make_claude_web, "bold": _make_bold, "plain": _make_plain, "headings": _make_headings,
    "chatgpt": _make_json("chatgpt", _chatgpt), "anthropic": _make_json("anthropic", _anthropic),
    "openwebui": _make_json("openwebui", _openwebui), "moltbook": _make_moltbook, "roles": _make_roles,
    "llm_logs": _make_llm, "essay": _make_essay,
}


def render(shape: str, rng: random.Random, n: int = 0) -> Sample:
    """One sample of one shape."""
    return SHAPES[shape](rng, n)


def generate_corpus(count: int, seed: int = 0) -> list[Sample]:
    """``count`` files, the shapes taken in turn, reproducible from ``seed``."""
    rng = random.Random(seed)
    names = list(SHAPES)
    return [SHAPES[names[i % len(names)]](rng, i) for i in range(count)]


def write_corpus(samples: list[Sample], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for s in samples:
        (folder / s.filename).write_bytes(s.data)


def compare(expected: list[list[Said]], got: list[list[tuple[str, str]]]) -> list[str]:
    """Differences between the truth and what an importer made of it, as (speaker, text) per turn
    (``host`` for the person; texts compared without surrounding whitespace). Empty when equal."""
    problems: list[str] = []
    if len(expected) != len(got):
        return [f"{len(got)} sessions, expected {len(expected)}"]
    for s, (want, have) in enumerate(zip(expected, got, strict=True)):
        if len(want) != len(have):
            problems.append(f"session {s}: {len(have)} turns, expected {len(want)}: "
                            f"{[w.speaker for w in want]} vs {[h[0] for h in have]}")
            continue
        for i, (w, (speaker, text)) in enumerate(zip(want, have, strict=True)):
            if w.speaker != speaker:
                problems.append(f"session {s} turn {i}: speaker {speaker!r}, expected {w.speaker!r}")
            if w.text.strip() != text.strip():
                problems.append(f"session {s} turn {i} ({w.speaker}): text differs: {text.strip()[:80]!r} vs "
                                f"{w.text.strip()[:80]!r}")
    return problems
