"""Pure-Python reference redactor: the benchmark baseline for the Rust redactor.

It finds the same kinds as ``gcstream_core::redact`` (ssn, phone, email, credit_card) with
Python ``re`` only: digit forms, plus a regex approximation of spoken digit runs ("four one one
one ...", "oh", "double five", "twenty four") and spoken emails ("john dot smith at gmail dot
com"). It is a reasonable, not an identical, implementation: the Rust core is the one that
is tested against the shared PII data; this one is what a careful Python user would write.

Plain functions: ``scan(text) -> list[tuple[kind, start, end]]`` (character offsets, sorted,
not overlapping) and ``redact(text) -> str``.
"""

from __future__ import annotations

import re

TAGS = {"ssn": "[SSN]", "phone": "[PHONE]", "email": "[EMAIL]", "credit_card": "[CREDIT_CARD]"}

_UNITS = {
    "zero": "0",
    "oh": "0",
    "o": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
_TEENS = {
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "thirteen": "13",
    "fourteen": "14",
    "fifteen": "15",
    "sixteen": "16",
    "seventeen": "17",
    "eighteen": "18",
    "nineteen": "19",
}
_TENS = {
    "twenty": "2",
    "thirty": "3",
    "forty": "4",
    "fifty": "5",
    "sixty": "6",
    "seventy": "7",
    "eighty": "8",
    "ninety": "9",
}
_UNIT = r"(?:zero|oh|o|one|two|three|four|five|six|seven|eight|nine)"
_TEEN = r"(?:ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen)"
_TEN = r"(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)"
_GROUP = (
    rf"(?:(?:double|triple)\s+{_UNIT}|{_TEN}(?:[\s-]+{_UNIT})?|{_TEEN}"
    rf"|{_UNIT}(?:\s+hundred|\s+thousand)?|\d+)"
)
_GAP = r"(?:[\s,.-]+(?:(?:uh|um|er|ah|dash|hyphen)[\s,.-]+)*)"

# A run of spoken or written digit groups, optionally after "plus" / "+".
_RUN = re.compile(
    rf"(?<![\w@])(?:(?:plus\s+|\+)?\(?)(?:{_GROUP})\)?(?:{_GAP}\(?(?:{_GROUP})\)?)*(?![\w@])", re.IGNORECASE
)
_TOKEN = re.compile(
    rf"\b(?:double|triple|{_TEN}|{_TEEN}|{_UNIT}|hundred|thousand|\d+|plus)\b|\+", re.IGNORECASE
)

_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+'-]*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+(?:[A-Za-z]{2,}|xn--[A-Za-z0-9-]+)\b"
)
_TLD = (
    r"(?:com|net|org|edu|gov|mil|io|co|uk|us|de|fr|ca|au|in|info|biz|me|ai|app|dev|c o m|e d u|o r g|n e t)"
)
_LABEL = r"(?:[a-z0-9](?:\s[a-z0-9])*(?:\s[a-z]+)?|[a-z0-9]+)"  # "j o h n", "g mail", "nvidia"
_STOP = r"(?:the|this|that|my|your|our|me|us|you|it|home|work|least|all|look|here|there|is|are|was)"
_SPOKEN_EMAIL = re.compile(
    rf"\b(?!{_STOP}\b){_LABEL}(?:\s(?:dot|underscore|dash|hyphen)\s{_LABEL})*\sat\s(?!{_STOP}\b){_LABEL}(?:\sdot\s{_LABEL})*?\sdot\s{_TLD}\b",
    re.IGNORECASE,
)


def luhn_valid(digits: str) -> bool:
    """Luhn check of a string of ASCII digits."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        v = int(ch)
        if i % 2:
            v = v * 2 - 9 if v > 4 else v * 2
        total += v
    return total % 10 == 0


def _digits(run: str) -> tuple[str, bool]:
    """Digits of a matched run, and whether it starts with plus."""
    out: list[str] = []
    plus = False
    repeat = 0
    open_tens = False  # the last group is a bare tens word a unit may complete
    for m in _TOKEN.finditer(run):
        w = m.group(0).lower()
        tens_now = False
        if w in ("plus", "+"):
            plus = not out
        elif w in ("double", "triple"):
            repeat = 2 if w == "double" else 3
        elif w in _UNITS:
            d = _UNITS[w]
            if repeat:
                out.append(d * repeat)
                repeat = 0
            elif open_tens and d != "0":
                out[-1] = out[-1][0] + d
            else:
                out.append(d)
        elif w in _TEENS:
            out.append(_TEENS[w])
        elif w in _TENS:
            out.append(_TENS[w] + "0")
            tens_now = True
        elif w == "hundred" and out:
            out[-1] += "00"
        elif w == "thousand" and out:
            out[-1] += "000"
        else:
            out.append(w)
        open_tens = tens_now
    return "".join(out), plus


def _ssn_ok(d: str) -> bool:
    return (
        len(d) == 9
        and d[:3] not in ("000", "666")
        and d[0] != "9"
        and d[3:5] != "00"
        and d[5:] != "0000"
        and len(set(d)) > 1
        and d not in ("078051120", "123456789")
    )


def _card_ok(d: str) -> bool:
    n = len(d)
    if not 13 <= n <= 19 or not luhn_valid(d):
        return False
    if d[0] == "1":
        return n == 15
    if d[0] == "2":
        return 2221 <= int(d[:4]) <= 2720 and n == 16
    if d[0] == "3":
        return (d[1] in "47" and n == 15) or (d[1] in "0689" and n >= 14) or (d[1] == "5" and n >= 16)
    if d[0] == "4":
        return n in (13, 16, 19)
    if d[0] in "56":
        return True
    return d[:2] == "81" and n >= 16


def _classify(run: str) -> str | None:
    d, plus = _digits(run)
    n = len(d)
    if not plus and _card_ok(d):
        return "credit_card"
    if plus:
        return "phone" if 8 <= n <= 15 and d[0] != "0" else None
    written = not re.search(r"[a-z]", run, re.IGNORECASE)
    if n == 9:
        if (
            written
            and re.fullmatch(
                r"\d{9}|\d{3}([-. ])\d{6}|\d{5}([-. ])\d{4}|\d{3}([-. ])\d{2}\3\d{4}", run.strip("() ")
            )
            is None
        ):
            return "phone" if d[0] == "0" and re.match(r"\(?0\d{1,3}\)?[-. ]", run) else None
        return "ssn" if _ssn_ok(d) else None
    if n == 10:
        return "phone"
    if n == 11:
        return "phone" if d[0] in "01" else None
    if 12 <= n <= 15:
        return (
            "phone"
            if d.startswith(("00", "011"))
            or (written and re.fullmatch(r"\d{1,3}[-. ]\d{3}[-. ]?\d{3}[-. ]?\d{4}", run))
            else None
        )
    if n == 7:
        return "phone" if written and re.fullmatch(r"[2-9]\d\d[-.]\d{4}", run) else None
    return None


def scan(text: str) -> list[tuple[str, int, int]]:
    """Findings as ``(kind, start, end)`` in character offsets, sorted and not overlapping."""
    found: list[tuple[str, int, int]] = []
    for m in _EMAIL.finditer(text):
        found.append(("email", m.start(), m.end()))
    for m in _SPOKEN_EMAIL.finditer(text):
        found.append(("email", m.start(), m.end()))
    for m in _RUN.finditer(text):
        run = m.group(0).rstrip(" ,.-")
        if sum(c.isdigit() for c in run) + len(_TOKEN.findall(run)) < 7:
            continue
        kind = _classify(run)
        if kind:
            found.append((kind, m.start(), m.start() + len(run)))
    found.sort(key=lambda f: (f[1], -f[2]))
    merged: list[tuple[str, int, int]] = []
    for kind, s, e in found:
        if merged and s < merged[-1][2]:
            k0, s0, e0 = merged[-1]
            merged[-1] = (k0 if e0 - s0 >= e - s else kind, s0, max(e0, e))
        else:
            merged.append((kind, s, e))
    return merged


def redact(text: str) -> str:
    """``text`` with every finding replaced by its tag."""
    out: list[str] = []
    at = 0
    for kind, s, e in scan(text):
        out.append(text[at:s])
        out.append(TAGS[kind])
        at = e
    out.append(text[at:])
    return "".join(out)
