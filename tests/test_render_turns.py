"""Exact Markdown for `symposia log` and `symposia show`, and its structure under hostile text."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

from markdown_it import MarkdownIt
from markdown_it.token import Token

from symposia.records import (
    ErrorInfo,
    Message,
    Params,
    TurnRecord,
    TurnRequest,
    TurnResult,
    Usage,
)
from symposia.render import turn_detail_markdown, turns_markdown

IST = timezone(timedelta(hours=5, minutes=30))


def reasoning_only_turn() -> TurnRecord:
    started = datetime(2026, 1, 31, 19, 44, 28, 123456, tzinfo=IST)
    return TurnRecord(
        id=42, session_id="20260131-141428-symposium-3f9a", seq=7, voice="deepseek",
        voice_name="DeepSeek R1 «Threshold»", provider="openrouter",
        request=TurnRequest(
            model="deepseek/deepseek-r1",
            messages=(Message("user", "What burns?"), Message("assistant", "The offering."),
                      Message("user", "Qwen said: 'AS the altar.'\n\nIs this hallucination?")),
            system="You are one voice among several.",
            params=Params(temperature=0.7, max_tokens=800),
        ),
        result=TurnResult(
            text="", reasoning="Let me think about altars…\n\nAnd fire.", finish_reason="length",
            model_requested="deepseek/deepseek-r1", model_reported="deepseek/deepseek-r1-0528",
            request_id="gen-123",
            usage=Usage(prompt_tokens=1200, completion_tokens=800, reasoning_tokens=790, cost=1.2e-05),
            ttft_s=0.8125, latency_s=12.5, attempts=3,
            error=ErrorInfo(kind="server_error", message="upstream <b>502</b>", status=502,
                            code="bad_gateway", retryable=True),
            started_at=started, ended_at=started + timedelta(seconds=12.5),
        ),
        role="chair", step_key="round-2/deepseek", meta={"round": 2},
    )


def plain_turn() -> TurnRecord:
    when = datetime(2026, 2, 1, 9, 30, tzinfo=UTC)
    return TurnRecord(
        id=43, session_id="20260201-093000-ask-00ff", seq=1, voice="qwen", voice_name="Qwen 3 Max",
        provider="openrouter",
        request=TurnRequest(model="qwen/qwen3-max", messages=(Message("user", "What burns?"),)),
        result=TurnResult(text="The offering burns *as* the altar.\n\n- not on it", finish_reason="stop",
                          model_requested="qwen/qwen3-max", model_reported="qwen/qwen3-max",
                          usage=Usage(prompt_tokens=5, completion_tokens=9), latency_s=1.0,
                          started_at=when, ended_at=when + timedelta(seconds=1)),
    )


LOG_GOLDEN = """\
## DeepSeek R1 «Threshold» — 2026-01-31 14:14:28 UTC

- **Turn:** 42 · **Session:** `20260131-141428-symposium-3f9a` · seq 7 · step `round-2/deepseek`
- **Voice:** `deepseek` (chair) · **Provider:** `openrouter`
- **Model:** `deepseek/deepseek-r1` (reported `deepseek/deepseek-r1-0528`)
- **Flags:** ⚠ error, empty, reasoning_only, truncated
- **Error:** `server_error`, HTTP 502, code `bad_gateway`, retryable: upstream \\<b\\>502\\</b\\>

**Question**

> Qwen said: 'AS the altar.'
>
> Is this hallucination?

**Answer**

*No answer text (37 characters of reasoning: see `symposia show 42`).*

*1,200 prompt, 800 completion tokens (790 reasoning) · cost 0.000012 · ttft 0.81 s · latency 12.50 s \
· 3 attempts*

## Qwen 3 Max — 2026-02-01 09:30:00 UTC

- **Turn:** 43 · **Session:** `20260201-093000-ask-00ff` · seq 1
- **Voice:** `qwen` (voice) · **Provider:** `openrouter`
- **Model:** `qwen/qwen3-max`

**Question**

> What burns?

**Answer**

> The offering burns *as* the altar.
>
> - not on it

*5 prompt, 9 completion tokens · latency 1.00 s*
"""


DETAIL_GOLDEN = """\
# Turn 42 — DeepSeek R1 «Threshold»

- **Session:** `20260131-141428-symposium-3f9a` · seq 7 · step `round-2/deepseek`
- **Voice:** `deepseek` (chair) · **Provider:** `openrouter`
- **Model requested:** `deepseek/deepseek-r1`
- **Model reported:** `deepseek/deepseek-r1-0528`
- **Request id:** `gen-123`
- **Status:** error
- **Flags:** ⚠ error, empty, reasoning_only, truncated
- **Finish reason:** length
- **Attempts:** 3
- **Started:** 2026-01-31 14:14:28.123 UTC
- **Ended:** 2026-01-31 14:14:40.623 UTC

## Usage

- **Prompt tokens:** 1,200
- **Completion tokens:** 800
- **Reasoning tokens:** 790
- **Cost:** 0.000012
- **Time to first token:** 0.81 s
- **Latency:** 12.50 s

## Error

- **Kind:** `server_error`
- **HTTP status:** 502
- **Code:** `bad_gateway`
- **Retryable:** yes

```text
upstream <b>502</b>
```

## Parameters

```json
{
  "temperature": 0.7,
  "max_tokens": 800
}
```

## System prompt

```text
You are one voice among several.
```

## Messages (3)

### 1 · user

```text
What burns?
```

### 2 · assistant

```text
The offering.
```

### 3 · user

```text
Qwen said: 'AS the altar.'

Is this hallucination?
```

## Reasoning

> Let me think about altars…
>
> And fire.

## Answer

*No answer text.*

## Meta

```json
{
  "round": 2
}
```
"""

PLAIN_DETAIL_GOLDEN = """\
# Turn 43 — Qwen 3 Max

- **Session:** `20260201-093000-ask-00ff` · seq 1
- **Voice:** `qwen` (voice) · **Provider:** `openrouter`
- **Model requested:** `qwen/qwen3-max`
- **Model reported:** `qwen/qwen3-max`
- **Request id:** —
- **Status:** ok
- **Finish reason:** stop
- **Attempts:** 1
- **Started:** 2026-02-01 09:30:00.000 UTC
- **Ended:** 2026-02-01 09:30:01.000 UTC

## Usage

- **Prompt tokens:** 5
- **Completion tokens:** 9
- **Reasoning tokens:** unknown
- **Cost:** unknown
- **Time to first token:** unknown
- **Latency:** 1.00 s

## Parameters

*None set: provider defaults.*

## System prompt

*None.*

## Messages (1)

### 1 · user

```text
What burns?
```

## Reasoning

*None.*

## Answer

> The offering burns *as* the altar.
>
> - not on it
"""


def test_log_golden() -> None:
    assert turns_markdown([reasoning_only_turn(), plain_turn()]) == LOG_GOLDEN


def test_detail_golden() -> None:
    assert turn_detail_markdown(reasoning_only_turn()) == DETAIL_GOLDEN


def test_plain_detail_golden() -> None:
    assert turn_detail_markdown(plain_turn()) == PLAIN_DETAIL_GOLDEN


def test_empty_log_is_empty() -> None:
    assert turns_markdown([]) == ""


def test_log_without_user_message_or_answer() -> None:
    t = plain_turn()
    t = dataclasses.replace(
        t, request=dataclasses.replace(t.request, messages=(Message("assistant", "opening"),)),
        result=dataclasses.replace(t.result, text=" \n"),
    )
    md = turns_markdown([t])
    assert "**Question**" not in md
    assert "**Answer**\n\n*No answer text.*\n" in md
    assert "- **Flags:** ⚠ empty\n" in md


# -- structure under hostile text ------------------------------------------------------------------

HOSTILE_ANSWER = "# I am a heading\n\n```python\nunclosed fence\n\n<script>alert(1)</script>"
HOSTILE_MESSAGE = "Look:\n```\nfenced by the user\n```\n````\nand longer\n````"


def hostile_turn() -> TurnRecord:
    t = plain_turn()
    return dataclasses.replace(
        t, voice_name="*Bot* <img src=x> | `tick` [link](http://x)",
        request=dataclasses.replace(t.request, model="weird`model", messages=(
            Message("user", HOSTILE_MESSAGE),)),
        result=dataclasses.replace(t.result, text=HOSTILE_ANSWER, reasoning=HOSTILE_ANSWER,
                                   model_reported="`leading"),
    )


def tokens(md: str) -> list[Token]:
    return MarkdownIt("commonmark").parse(md)


def headings(toks: list[Token]) -> list[str]:
    out = []
    for i, tok in enumerate(toks):
        if tok.type == "heading_open" and tok.level == 0:  # level 0: not inside a blockquote
            out.append(tok.tag + " " + toks[i + 1].content)
    return out


def test_hostile_text_stays_in_its_place_in_the_log() -> None:
    md = turns_markdown([hostile_turn()])
    toks = tokens(md)
    # Only our heading at the top level; the answer's "# I am a heading" is inside the blockquote.
    assert headings(toks) == ["h2 \\*Bot\\* \\<img src=x\\> \\| \\`tick\\` \\[link\\](http://x) — "
                              "2026-02-01 09:30:00 UTC"]
    assert [t.type for t in toks if t.type.startswith("html") and t.level == 0] == []
    assert not any(t.type == "link_open" for t in toks)
    # The unclosed fence in the answer ends with the blockquote: the usage line is still ours.
    assert toks[-2].type == "inline" and toks[-2].content.startswith("*5 prompt")
    assert md.endswith("> <script>alert(1)</script>\n\n*5 prompt, 9 completion tokens · latency 1.00 s*\n")
    assert "- **Model:** ``weird`model`` (reported `` `leading ``)\n" in md


def test_hostile_text_stays_in_its_place_in_the_detail() -> None:
    md = turn_detail_markdown(hostile_turn())
    toks = tokens(md)
    assert headings(toks)[1:] == ["h2 Usage", "h2 Parameters", "h2 System prompt", "h2 Messages (1)",
                                  "h3 1 · user", "h2 Reasoning", "h2 Answer"]
    # The message is shown verbatim in one fence longer than any fence inside it.
    fences = [t for t in toks if t.type == "fence" and t.level == 0]  # the answer's fence is quoted
    assert [f.content for f in fences] == [HOSTILE_MESSAGE + "\n"]
    assert "`````text\n" + HOSTILE_MESSAGE + "\n`````\n" in md
