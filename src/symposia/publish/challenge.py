"""Solve Moltbook's verification challenge: an obfuscated arithmetic word problem.

A challenge reads like "A lobster has tw3nty-f1ve claws and l0ses s3ven, how many r3main?": numbers
as words or digits, letters swapped for look-alike digits, odd casing, stray punctuation inside
words, doubled letters, words split in pieces. The answer is sent as a string with two decimals.

Pure code. The solver answers only when it is confident: two or more readings, no operation, or too
few operations for the numbers all give ``confident=False`` with the reason, so the caller asks the
person instead. A wrong answer costs one of ten attempts before Moltbook suspends the account.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction

__all__ = ["Solution", "format_answer", "parse_answer", "solve"]

# Look-alike characters inside a word (a token with at least one letter).
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_INNER_I = re.compile(r"(?<=[a-z])[|!](?=[a-z])")
_NOT_LETTER = re.compile(r"[^a-z]+")
_RUNS = re.compile(r"(.)\1+")
_DIGITS = re.compile(r"^\W*?(\d+(?:\.\d+)?)\W*$")


def _fold(raw: str) -> str:
    """Lower-case, look-alikes to letters, non-letters dropped; ``l`` and ``i`` are one letter
    (``1`` stands for either), so folding is applied to the vocabulary too."""
    s = raw.lower()
    if any(c.isalpha() for c in s):
        s = _INNER_I.sub("i", s.translate(_LEET))
    return _NOT_LETTER.sub("", s).replace("l", "i")


def _collapse(folded: str) -> str:
    """Doubled letters are an obfuscation ("tWeNnTyy"): compare with runs collapsed."""
    return _RUNS.sub(r"\1", folded)


def _canon(word: str) -> str:
    return _collapse(_fold(word))


_UNIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
               "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
               "nineteen"]
_TENS_WORDS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_UNITS = {_canon(w): i for i, w in enumerate(_UNIT_WORDS)}
_UNITS[_canon("dozen")] = 12
_TENS = {_canon(w): 20 + 10 * i for i, w in enumerate(_TENS_WORDS)}
_HUNDRED = _canon("hundred")
_THOUSAND = _canon("thousand")
_NUMBER_WORDS = {**_UNITS, **_TENS, _HUNDRED: 100, _THOUSAND: 1000}

_BINARY: dict[str, str] = {}
for _kind, _words in {
    "+": "add adds added adding plus gain gains gained gaining increase increases increased increasing "
         "grow grows grew grown receive receives received find finds found collect collects collected "
         "join joins joined accelerate accelerates accelerated",
    "-": "minus subtract subtracts subtracted lose loses lost losing decrease decreases decreased "
         "drop drops dropped slow slows slowed remove removes removed spend spends spent eat eats ate "
         "difference reduce reduces reduced",
    "*": "times multiply multiplies multiplied multiplying product",
    "/": "divide divides divided dividing split splits quotient share shares shared",
}.items():
    for _w in _words.split():
        _BINARY[_canon(_w)] = _kind
_UNARY: dict[str, Fraction] = {}
for _factor, _words in {Fraction(2): "double doubles doubled doubling twice",
                        Fraction(3): "triple triples tripled tripling thrice",
                        Fraction(1, 2): "halve halves halved halving half"}.items():
    for _w in _words.split():
        _UNARY[_canon(_w)] = _factor
# Arithmetic words, as opposed to story verbs ("finds", "loses"): they fix the order of "-" and "/"
# before the numbers ("subtract 3 from 10"). "times" after both numbers is no operation ("how many times?").
_EXPLICIT = {_canon(w) for w in ("add", "plus", "minus", "subtract", "multiply", "times", "product", "divide",
                                 "quotient", "difference")}
_TIMES = _canon("times")
# Words that suggest a sum only when nothing else names an operation ("what is the total?").
_WEAK_ADD = {_canon(w) for w in ("total", "sum", "altogether", "combined", "together")}
_FROM, _AND = _canon("from"), _canon("and")


@dataclass(frozen=True)
class Solution:
    """What the solver made of a challenge: ``answer`` ("18.00") only when ``confident``."""

    confident: bool
    answer: str | None
    expression: str
    reason: str = ""


def format_answer(value: Fraction | Decimal | int | float) -> str:
    """Two decimals, rounded half up, as Moltbook expects ("15.00")."""
    d = Decimal(value.numerator) / Decimal(value.denominator) if isinstance(value, Fraction) else Decimal(value)
    q = d.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return "0.00" if q == 0 else f"{q:.2f}"


def parse_answer(text: str) -> str | None:
    """A number a person typed ("18", " 18.5 ", "-3") as Moltbook's string; None if it is not one."""
    try:
        d = Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        return None
    return format_answer(d) if d.is_finite() else None


# -- reading the text ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Item:
    kind: str  # "num", "op", "unary", "weak", "and", "from", "word"
    text: str  # what the challenge said, for the expression
    value: Fraction | None = None
    op: str = ""
    words: tuple[str, ...] = ()
    canon: str = ""  # the folded word, for operations


def _segment(s: str) -> list[str] | None:
    """Split a run of letters into number words ("twentyfive" -> twenty, five), or None."""
    if not s:
        return []
    best: list[str] | None = None
    for w in sorted(_NUMBER_WORDS, key=len, reverse=True):
        if s.startswith(w):
            rest = _segment(s[len(w):])
            if rest is not None and (best is None or len(rest) + 1 < len(best)):
                best = [w, *rest]
    return best


def _group(words: list[str], i: int) -> tuple[int, int]:
    """Parse up to 999 from ``words[i:]``; returns (value, next index)."""
    v = 0
    n = len(words)
    if i + 1 < n and words[i + 1] == _HUNDRED and 1 <= _UNITS.get(words[i], 0) <= 9:
        v, i = 100 * _UNITS[words[i]], i + 2
    elif i < n and words[i] == _HUNDRED:
        v, i = 100, i + 1
    if i < n and words[i] in _TENS:
        v, i = v + _TENS[words[i]], i + 1
        if i < n and 1 <= _UNITS.get(words[i], 0) <= 9:
            v, i = v + _UNITS[words[i]], i + 1
    elif i < n and words[i] in _UNITS and (v == 0 or _UNITS[words[i]] != 0):
        v, i = v + _UNITS[words[i]], i + 1
    return v, i


def _words_value(words: list[str]) -> int | None:
    """The value of number words that read as ONE number ("one hundred five"), else None."""
    if not words:
        return None
    value, i = _group(words, 0)
    if i < len(words) and words[i] == _THOUSAND:
        value = (value or 1) * 1000
        i += 1
        if i < len(words):
            rest, j = _group(words, i)
            if j == i:
                return None
            value, i = value + rest, j
    return value if i == len(words) and i > 0 else None


def _tokens(text: str) -> list[_Item]:
    raws = text.split()
    folded = [_fold(r) for r in raws]
    items: list[_Item] = []
    i = 0
    while i < len(raws):
        m = _DIGITS.match(raws[i])
        if m:
            items.append(_Item("num", m.group(1), Fraction(m.group(1))))
            i += 1
            continue
        if not folded[i]:
            i += 1
            continue
        # A word may be cut in pieces ("tw enty", "l oses", "t w e n t y"): try joining up to three pieces,
        # or up to eight of one or two letters, longest first.
        for k in range(min(8, len(raws) - i), 0, -1):
            pieces = folded[i:i + k]
            if (k > 3 and any(len(f) > 2 for f in pieces)) or any(
                    _DIGITS.match(r) or not f for r, f in zip(raws[i:i + k], pieces, strict=True)):
                continue
            cand = _collapse("".join(folded[i:i + k]))
            joined = " ".join(raws[i:i + k])
            item: _Item | None = None
            if cand in _BINARY:
                item = _Item("op", joined, op=_BINARY[cand], canon=cand)
            elif cand in _UNARY:
                item = _Item("unary", joined, value=_UNARY[cand])
            else:
                seg = _segment(cand)
                if seg and _words_value(seg) is not None:
                    item = _Item("num", joined, words=tuple(seg))
            if item is None and k == 1:
                kind = ("weak" if cand in _WEAK_ADD else "and" if cand == _AND
                        else "from" if cand == _FROM else "word")
                item = _Item(kind, joined)
            if item is not None:
                items.append(item)
                i += k
                break
    return _join_numbers(items)


def _join_numbers(items: list[_Item]) -> list[_Item]:
    """Adjacent number words that read as one number become one ("twenty five", "one hundred and six")."""
    out: list[_Item] = []
    for it in items:
        if it.kind == "num" and it.words:
            prev = out[-1] if out else None
            before = out[-2] if len(out) > 1 else None
            if prev is not None and prev.kind == "num" and prev.words:
                merged = [*prev.words, *it.words]
                if _words_value(merged) is not None:
                    out[-1] = _Item("num", f"{prev.text} {it.text}", words=tuple(merged))
                    continue
            if (prev is not None and prev.kind == "and" and before is not None and before.kind == "num"
                    and before.words and before.words[-1] in (_HUNDRED, _THOUSAND)):
                merged = [*before.words, *it.words]
                if _words_value(merged) is not None:
                    out[-2:] = [_Item("num", f"{before.text} {prev.text} {it.text}", words=tuple(merged))]
                    continue
        out.append(it)
    return [_Item("num", it.text, Fraction(_words_value(list(it.words)) or 0)) if it.kind == "num" and it.words
            else it for it in out]


# -- arithmetic ----------------------------------------------------------------------------------


def _apply(a: Fraction, op: str, b: Fraction) -> Fraction:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    return a / b


def _with_precedence(values: list[Fraction], ops: list[str]) -> Fraction:
    """Standard precedence (* and / before + and -), the other plausible reading of a mixed chain."""
    terms = [values[0]]
    signs: list[str] = []
    for op, v in zip(ops, values[1:], strict=True):
        if op in "*/":
            terms[-1] = _apply(terms[-1], op, v)
        else:
            signs.append(op)
            terms.append(v)
    total = terms[0]
    for op, v in zip(signs, terms[1:], strict=True):
        total = _apply(total, op, v)
    return total


def _fmt(v: Fraction) -> str:
    return str(v.numerator) if v.denominator == 1 else format_answer(v)


def _unsure(reason: str, expression: str = "") -> Solution:
    return Solution(confident=False, answer=None, expression=expression, reason=reason)


def solve(challenge_text: str) -> Solution:
    """Read the problem and compute its answer; ``confident=False`` (with a reason) when unsure."""
    items = _tokens(challenge_text)
    nums = [i for i, it in enumerate(items) if it.kind == "num"]
    if not nums:
        return _unsure("no numbers found in the challenge")
    values = [items[i].value or Fraction(0) for i in nums]
    strong = [it for it in items if it.kind in ("op", "unary")]

    if len(nums) == 1:
        unary = [it for it in strong if it.kind == "unary"]
        if len(strong) == 1 and unary and unary[0].value is not None:
            result = values[0] * unary[0].value
            return _solved(result, f"{_fmt(values[0])} * {_fmt(unary[0].value)}")
        return _unsure("only one number and no single operation that applies to it")

    prefix = [it for it in items[:nums[0]] if it.kind in ("op", "unary")]
    suffix = [it for it in items[nums[-1] + 1:] if it.kind in ("op", "unary")]
    gaps = [items[a + 1:b] for a, b in zip(nums, nums[1:], strict=False)]

    if not strong:
        if any(it.kind == "weak" for it in items):
            total = sum(values, Fraction(0))
            return _solved(total, " + ".join(_fmt(v) for v in values))
        return _unsure("no operation named (adds, loses, times, divided, ...)")

    if len(nums) == 2 and not [it for it in gaps[0] if it.kind in ("op", "unary")]:
        # "the product of 4 and 5", "subtract 3 from 10", "10 and 5, what is their sum?"
        if suffix:  # story verbs before the numbers do not compete with an operation after them
            prefix = [it for it in prefix if it.canon in _EXPLICIT]
        outer = prefix or suffix
        kinds = {it.op for it in outer if it.kind == "op"}
        if len(outer) != len([it for it in outer if it.kind == "op"]) or len(kinds) != 1 or (prefix and suffix):
            return _unsure("cannot tell which operation joins the numbers")
        # "+" and "*" read the same either way; "-" and "/" before the numbers need an arithmetic word that
        # fixes the order ("subtract 3 from 10", "divide 20 by 4"), not a story verb ("loses 3 of its 10").
        if (prefix and next(iter(kinds)) in "-/" and any(it.canon not in _EXPLICIT for it in prefix)) or any(
                it.canon == _TIMES for it in suffix):
            return _unsure(f"cannot tell which way {outer[0].text!r} applies to the two numbers")
        op = kinds.pop()
        a, b = values
        if op == "-" and any(it.kind == "from" for it in gaps[0]) and prefix:
            a, b = b, a
        return _binary_chain([a, b], [op], [])

    if any(it.kind == "unary" or it.canon in _EXPLICIT for it in prefix):
        return _unsure(f"cannot tell what {prefix[0].text!r}, before the first number, applies to")
    # other words before the first number tell the story ("A lobster finds 7 pebbles ..."): not operations
    ops: list[str] = []
    unaries: list[tuple[int, Fraction]] = []  # (index of the value it follows, factor)
    for g, gap in enumerate(gaps):
        named = [it for it in gap if it.kind in ("op", "unary")]
        binary = {it.op for it in named if it.kind == "op"}
        if len(binary) != 1:
            why = "no operation" if not binary else "more than one operation"
            return _unsure(f"{why} between {items[nums[g]].text!r} and {items[nums[g + 1]].text!r}")
        first_binary = next(k for k, it in enumerate(named) if it.kind == "op")
        for k, it in enumerate(named):
            if it.kind == "unary":
                if k > first_binary:
                    return _unsure(f"cannot tell what {it.text!r} applies to")
                unaries.append((g, it.value or Fraction(1)))
        ops.append(binary.pop())
    if any(it.kind == "op" for it in suffix):
        return _unsure("an operation after the last number")
    unaries += [(len(values) - 1, it.value or Fraction(1)) for it in suffix]
    return _binary_chain(values, ops, unaries)


def _binary_chain(values: list[Fraction], ops: list[str], unaries: list[tuple[int, Fraction]]) -> Solution:
    """Evaluate left to right, applying each unary factor after the value it follows."""
    if any(op == "/" and v == 0 for op, v in zip(ops, values[1:], strict=True)):
        return _unsure("division by zero")
    total = values[0]
    expr = _fmt(values[0])
    for idx in range(len(values)):
        if idx > 0:
            total = _apply(total, ops[idx - 1], values[idx])
            expr = f"{expr} {ops[idx - 1]} {_fmt(values[idx])}"
        for at, factor in unaries:
            if at == idx:
                total *= factor
                expr = f"({expr}) * {_fmt(factor)}"
    if not unaries and len(ops) > 1 and {"+", "-"} & set(ops) and {"*", "/"} & set(ops):
        other = _with_precedence(values, ops)
        if other != total:
            return _unsure(f"two readings: left to right gives {_fmt(total)}, usual precedence gives "
                           f"{_fmt(other)}", expr)
    return _solved(total, expr)


def _solved(value: Fraction, expr: str) -> Solution:
    return Solution(confident=True, answer=format_answer(value), expression=expr)
