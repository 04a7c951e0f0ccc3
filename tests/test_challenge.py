"""The verification-challenge solver: obfuscated word problems in, a two-decimal answer or "not confident" out."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from symposia.publish.challenge import format_answer, parse_answer, solve

SOLVABLE = [
    # the brief's example: digits for letters in words and in numbers
    ("A lobster has tw3nty-f1ve claws and l0ses s3ven, how many r3main?", "18.00"),
    # odd casing, punctuation inside words, doubled letters
    ("A] lO^bSt-Er S[wImS aT/ tW]eNn-Tyy mE^tE[rS aNd] SlO/wS bY^ fI[vE, wHaT's] ThE/ nEw^ SpEeD?", "15.00"),
    ("ThE cRaB hAs ThIrTy ShElLs AnD gAiNs TwElVe, HoW mAnY nOw?", "42.00"),
    ("a LoBsTeR fInDs 7 pEbBlEs pLuS f0urt33n m0re, t0tal?", "21.00"),
    ("Sixty-four krill divided among eight lobsters, how many each?", "8.00"),
    ("A sh0al 0f n1n3ty f1sh l0s3s thirty-tw0 t0 a sh4rk. H0w m4ny l3ft?", "58.00"),
    ("A claw holds six pearls, times s1x claws — total pearls?", "36.00"),
    # the operation named before both numbers, doubled letters with swapped case, words cut in pieces
    ("tHe^ cRaB] mUlTiPlIeS~ sTrEnGtH, tHe fIrSt cLaW iS tWeNtY tHrEe NeWtOnS aNd ThE sEcOnD iS fIvE", "115.00"),
    ("A] lOoOobSsStEr^ sW[iMmS aT/ tWeN tY fIiV e] cMmM pEr/ sEcOnD ~ aNd+ sLoOwWs bY^ fIfTeEeN] cMmM", "10.00"),
    ("tWwEeNnTtYy tHhRrEeEe pLuUsS sEeVvEeNn", "30.00"),
    ("A lobster finds 19 shrimp and 6 more are added; the sum?", "25.00"),
    ("A LoBsTeR hAs t3n cL4wS aNd thr33 ArE l0st, how many remain?", "7.00"),
    ("A reef of one hundred and twenty corals is split between 4 crabs. How many each?", "30.00"),
    ("lobster swims 12 meters, then gains 3 meters, then doubles its distance. How far?", "30.00"),
    ("Multiply s3v3n by thr33.", "21.00"),
    ("Subtract f-i-v-e from t w e n t y.", "15.00"),
    ("What is the product of 4 and 2.5?", "10.00"),
    ("The lobster had 10 claws; it l00ses 3 and then gains 8. How many now?", "15.00"),
    ("Ten divided by three, what is it?", "3.33"),
    ("tw o th ous and l0bsters pl us f1fty", "2050.00"),
    ("A cRaB hAs ElEvEn LeGs AnD lOsEs ElEvEn", "0.00"),
    ("F0RTY-F0UR sh3lls, hAlVeS, h0w m4ny?", "22.00"),
    ("The tide brings 19 shrimp and then 6 more shrimp are added, what is the sum?", "25.00"),
    ("A lobster has 5 claws and loses 8, how many remain?", "-3.00"),
    ("nineteen MINUS six", "13.00"),
    ("A lobster walks at 2.5 m/s and speeds: it is multiplied by 4. New speed?", "10.00"),
    ("A crab has 3 shells and 4 more shells. What is the total?", "7.00"),
]

AMBIGUOUS = [
    "A lobster has claws and loses some, how many remain?",  # no numbers
    "A lobster has 12 claws and 3 legs. How many?",  # no operation
    "A lobster has 5 claws.",  # one number, nothing to do
    "three plus four times two",  # left to right 14, precedence 11
    "A lobster with 2 claws has 20 shells and loses 5",  # three numbers, one operation
    "twenty gains and loses five",  # two operations between the same numbers
    "twelve divided by zero",  # no answer
    "Ten lobsters and 2 crabs, how many times?",  # "times" after both numbers is not "multiply"
    "A lobster loses 3 of its 10 claws",  # a story verb before both numbers: 10 - 3 or 3 - 10?
    "Each claw holds six pearls; s1x claws times SIX pearls, total pearls?",  # three numbers, one operation
    "Add 5 and 6 and then multiply 2",  # an arithmetic word before a chain
    "",
]


@pytest.mark.parametrize(("text", "expected"), SOLVABLE)
def test_solves(text: str, expected: str) -> None:
    sol = solve(text)
    assert sol.confident, sol.reason
    assert sol.answer == expected, sol.expression


@pytest.mark.parametrize("text", AMBIGUOUS)
def test_not_confident(text: str) -> None:
    sol = solve(text)
    assert not sol.confident and sol.answer is None and sol.reason


def test_enough_cases() -> None:
    assert len(SOLVABLE) >= 15 and len(AMBIGUOUS) >= 5


def test_format_and_parse_answer() -> None:
    assert format_answer(Fraction(18)) == "18.00"
    assert format_answer(Fraction(2, 3)) == "0.67"
    assert format_answer(Fraction(1, 8)) == "0.13"  # half up, not banker's
    assert format_answer(Decimal("-0.001")) == "0.00"
    assert parse_answer(" 18 ") == "18.00" and parse_answer("1,250.5") == "1250.50"
    assert parse_answer("eighteen") is None and parse_answer("nan") is None and parse_answer("") is None
