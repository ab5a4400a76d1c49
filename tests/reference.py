"""A slow, obviously-correct pure-Python reference of gcstream's framing, decoding and engine.

Three parts, each written for clarity rather than speed:

* **Framing** (:class:`ReferenceFramer`, :func:`frame_message`, :func:`frame_stream`): the exact
  semantics of ``gcstream.FrameAssembler``: RFC 8259 validation with the first invalid byte's
  offset and a stable error kind, documents concatenated with optional JSON whitespace in stream
  mode, the size and depth caps, and recovery after an error: a document rejected for a cap is
  skipped to its end, after any other error scanning resynchronises at the next ``{`` or ``[``.
  It re-reads a pending document from its first byte on every feed, so it is quadratic on purpose:
  simple beats fast here.
* **Decoding and records** (:class:`ReferenceEngine`): the ``notifications`` and ``eventbridge``
  envelopes turned into plain dicts shaped like the records' ``to_dict()`` (plus a ``"type"`` key
  naming the record class), with de-duplication on (conversation, communication, utterance id).
* **Baselines for the benchmarks** (:class:`RawDecodeFramer`, :func:`reference_pipeline`): what a
  Python programmer would write with the standard library (``json.JSONDecoder.raw_decode`` and
  ``json.loads``) doing the same work as the core. They agree with the exact reference on valid
  input; they are more lenient on some invalid input (``NaN``, lone surrogate escapes).

The tests compare the Rust core against this module on generated and corrupted input.
"""

from __future__ import annotations

import codecs
import json
import math
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ERROR_KINDS",
    "DecodeError",
    "RawDecodeFramer",
    "ReferenceEngine",
    "ReferenceFramer",
    "frame_message",
    "frame_stream",
    "parse_iso_ms",
    "record_dict",
    "reference_pipeline",
]

ERROR_KINDS = frozenset(
    {
        "unexpected_byte",
        "invalid_utf8",
        "invalid_escape",
        "invalid_number",
        "control_character",
        "document_too_large",
        "too_deep",
        "truncated",
        "trailing_data",
        "empty",
    }
)
"""Every framing error kind the assembler may report."""

WHITESPACE = b" \t\n\r"
"""RFC 8259 whitespace; nothing else (form feed, NBSP, a BOM) separates documents."""

_VALUE_START = frozenset(b'{["-0123456789tfn')
_NUMBER_END = frozenset(b' \t\n\r{["')
_OPEN_ENDED = frozenset(b'{["')  # documents a cap may reject with their end still to come
_DIGITS = frozenset(b"0123456789")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_SIMPLE_ESCAPES = frozenset(b'"\\/bfnrt')
_LITERALS = {ord("t"): b"true", ord("f"): b"false", ord("n"): b"null"}

# Unicode Table 3-7 (well-formed UTF-8): for each lead byte, how many continuation bytes follow
# and the allowed range of the first one. The ranges exclude overlong forms, UTF-16 surrogates
# and code points above U+10FFFF; later continuation bytes are always 80..BF.
_UTF8_LEADS: dict[int, tuple[int, int, int]] = {}
for _b in range(0xC2, 0xE0):
    _UTF8_LEADS[_b] = (1, 0x80, 0xBF)
_UTF8_LEADS[0xE0] = (2, 0xA0, 0xBF)
for _b in (*range(0xE1, 0xED), 0xEE, 0xEF):
    _UTF8_LEADS[_b] = (2, 0x80, 0xBF)
_UTF8_LEADS[0xED] = (2, 0x80, 0x9F)
_UTF8_LEADS[0xF0] = (3, 0x90, 0xBF)
for _b in range(0xF1, 0xF4):
    _UTF8_LEADS[_b] = (3, 0x80, 0xBF)
_UTF8_LEADS[0xF4] = (3, 0x80, 0x8F)


# --------------------------------------------------------------------------------------------
# Framing
# --------------------------------------------------------------------------------------------


class _Invalid(Exception):
    """The byte at ``offset`` is where the document stops being JSON."""

    def __init__(self, kind: str, offset: int) -> None:
        super().__init__(kind, offset)
        self.kind = kind
        self.offset = offset


class _OutOfInput(Exception):
    """The document is still open where the input (or the size cap) ends.

    ``number_may_end`` is true when the document is a top-level number that is complete so far,
    so that the end of input (or a following whitespace) would finish it.
    """

    def __init__(self, number_may_end: bool) -> None:
        super().__init__(number_may_end)
        self.number_may_end = number_may_end


def _skip_ws(data: bytes, i: int, end: int) -> int:
    while i < end and data[i] in WHITESPACE:
        i += 1
    return i


def _scan_hex_digit(data: bytes, j: int, end: int) -> int:
    if j >= end:
        raise _OutOfInput(False)
    if data[j] not in _HEX:
        raise _Invalid("invalid_escape", j)
    return int(chr(data[j]), 16)


def _scan_unicode_escape(data: bytes, j: int, end: int) -> int:
    """Check the four hex digits of ``\\uXXXX`` starting at ``j`` (and a low surrogate after a high one).

    Surrogates must pair: a high one (D800-DBFF) must be followed by ``\\u`` and a low one
    (DC00-DFFF); a low one on its own is an error at its second digit.
    """
    first = _scan_hex_digit(data, j, end)
    second = _scan_hex_digit(data, j + 1, end)
    high = False
    if first == 0xD and second >= 0xC:
        raise _Invalid("invalid_escape", j + 1)
    if first == 0xD and second >= 0x8:
        high = True
    _scan_hex_digit(data, j + 2, end)
    _scan_hex_digit(data, j + 3, end)
    j += 4
    if not high:
        return j
    for expected in (ord("\\"), ord("u")):
        if j >= end:
            raise _OutOfInput(False)
        if data[j] != expected:
            raise _Invalid("invalid_escape", j)
        j += 1
    if _scan_hex_digit(data, j, end) != 0xD:
        raise _Invalid("invalid_escape", j)
    if _scan_hex_digit(data, j + 1, end) < 0xC:
        raise _Invalid("invalid_escape", j + 1)
    _scan_hex_digit(data, j + 2, end)
    _scan_hex_digit(data, j + 3, end)
    return j + 4


def _scan_string(data: bytes, j: int, end: int) -> int:
    """Scan a string whose opening quote is just before ``j``; return the index after its closing quote."""
    while True:
        if j >= end:
            raise _OutOfInput(False)
        b = data[j]
        if b == ord('"'):
            return j + 1
        if b == ord("\\"):
            j += 1
            if j >= end:
                raise _OutOfInput(False)
            if data[j] in _SIMPLE_ESCAPES:
                j += 1
            elif data[j] == ord("u"):
                j = _scan_unicode_escape(data, j + 1, end)
            else:
                raise _Invalid("invalid_escape", j)
        elif b < 0x20:
            raise _Invalid("control_character", j)
        elif b < 0x80:
            j += 1
        else:
            lead = _UTF8_LEADS.get(b)
            if lead is None:
                raise _Invalid("invalid_utf8", j)
            need, lo, hi = lead
            for k in range(1, need + 1):
                if j + k >= end:
                    raise _OutOfInput(False)
                if not lo <= data[j + k] <= hi:
                    raise _Invalid("invalid_utf8", j + k)
                lo, hi = 0x80, 0xBF
            j += need + 1


def _scan_digits(data: bytes, j: int, end: int) -> int:
    """At least one digit at ``j``, then as many as follow."""
    if j >= end:
        raise _OutOfInput(False)
    if data[j] not in _DIGITS:
        raise _Invalid("invalid_number", j)
    j += 1
    while j < end and data[j] in _DIGITS:
        j += 1
    return j


def _scan_number(data: bytes, j: int, end: int, top_level: bool) -> int:
    """Scan ``-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?``; return the index after it."""
    if data[j] == ord("-"):
        j += 1
        if j >= end:
            raise _OutOfInput(False)
    if j < end and data[j] == ord("0"):
        j += 1
        if j < end and data[j] in _DIGITS:
            raise _Invalid("invalid_number", j)
    else:
        j = _scan_digits(data, j, end)
    if j >= end:
        raise _OutOfInput(top_level)
    if data[j] == ord("."):
        j = _scan_digits(data, j + 1, end)
        if j >= end:
            raise _OutOfInput(top_level)
    if data[j] in b"eE":
        j += 1
        if j < end and data[j] in b"+-":
            j += 1
        j = _scan_digits(data, j, end)
        if j >= end:
            raise _OutOfInput(top_level)
    return j


def _scan_literal(data: bytes, j: int, end: int) -> int:
    literal = _LITERALS[data[j]]
    for k in range(1, len(literal)):
        if j + k >= end:
            raise _OutOfInput(False)
        if data[j + k] != literal[k]:
            raise _Invalid("unexpected_byte", j + k)
    return j + len(literal)


def _scan_document(data: bytes, start: int, end: int, max_depth: int) -> int:
    """Validate one JSON document beginning at ``data[start]``, reading no further than ``end``.

    Returns:
        The index one past the document's last byte.

    Raises:
        _Invalid: at the first byte that cannot continue the document.
        _OutOfInput: when ``end`` comes first.
    """
    stack: list[int] = []
    expect = "value"  # value | array_first | object_first | key | colon | after_value
    i = start
    while True:
        i = _skip_ws(data, i, end)
        if i >= end:
            raise _OutOfInput(False)
        b = data[i]
        completed = False
        if expect in ("value", "array_first"):
            if b == ord('"'):
                i = _scan_string(data, i + 1, end)
                completed = True
            elif b in b"{[":
                if len(stack) >= max_depth:
                    raise _Invalid("too_deep", i)
                stack.append(b)
                expect = "object_first" if b == ord("{") else "array_first"
                i += 1
            elif b == ord("]") and expect == "array_first":
                stack.pop()
                i += 1
                completed = True
            elif b in b"-0123456789":
                i = _scan_number(data, i, end, top_level=not stack)
                if not stack and data[i] not in _NUMBER_END:
                    raise _Invalid("unexpected_byte", i)
                completed = True
            elif b in _LITERALS:
                i = _scan_literal(data, i, end)
                completed = True
            else:
                raise _Invalid("unexpected_byte", i)
        elif expect in ("object_first", "key"):
            if b == ord('"'):
                i = _scan_string(data, i + 1, end)
                expect = "colon"
            elif b == ord("}") and expect == "object_first":
                stack.pop()
                i += 1
                completed = True
            else:
                raise _Invalid("unexpected_byte", i)
        elif expect == "colon":
            if b != ord(":"):
                raise _Invalid("unexpected_byte", i)
            i += 1
            expect = "value"
        else:  # after_value
            top = stack[-1]
            if b == ord(","):
                expect = "key" if top == ord("{") else "value"
                i += 1
            elif (b == ord("]") and top == ord("[")) or (b == ord("}") and top == ord("{")):
                stack.pop()
                i += 1
                completed = True
            else:
                raise _Invalid("unexpected_byte", i)
        if completed:
            if not stack:
                return i
            expect = "after_value"


@dataclass
class ReferenceFramer:
    """Pure-Python twin of ``gcstream.FrameAssembler`` (same modes, caps, documents and errors).

    Attributes:
        mode: ``"stream"`` or ``"message"``.
        max_document_bytes: Largest document (surrounding whitespace excluded).
        max_depth: Deepest nesting of arrays and objects (``[]`` has depth 1).
    """

    mode: str = "stream"
    max_document_bytes: int = 1 << 20
    max_depth: int = 128
    _pending: bytearray = field(default_factory=bytearray, repr=False)
    _pending_at: int = field(default=0, repr=False)  # absolute offset of _pending[0]
    _fed: int = field(default=0, repr=False)
    _resync: bool = field(default=False, repr=False)
    _discard: bool = field(default=False, repr=False)  # _pending[0] starts a rejected document
    _errors: list[tuple[str, int]] = field(default_factory=list, repr=False)

    def feed(self, chunk: bytes | bytearray | memoryview | str) -> list[bytes]:
        """Feed a chunk (message mode: one whole message); returns the documents it completed."""
        data = chunk.encode() if isinstance(chunk, str) else bytes(chunk)
        if self.mode == "message":
            self._fed += len(data)
            doc, error = frame_message(data, self.max_document_bytes, self.max_depth)
            if error is not None:
                self._errors.append(error)
            return [] if doc is None else [doc]
        self._pending += data
        self._fed += len(data)
        return self._run(final=False)

    def finish(self) -> list[bytes]:
        """End of input: a pending top-level number completes, anything else open is ``truncated``."""
        if self.mode == "message":
            return []
        return self._run(final=True)

    def take_errors(self) -> list[tuple[str, int]]:
        """Return and clear the collected errors as ``(kind, offset)`` pairs."""
        errors, self._errors = self._errors, []
        return errors

    @property
    def bytes_buffered(self) -> int:
        """Bytes held for an unfinished document."""
        return len(self._pending)

    def _run(self, final: bool) -> list[bytes]:
        data = bytes(self._pending)
        base = self._pending_at
        docs: list[bytes] = []
        i = 0
        while True:
            if self._discard:
                stop = _rejected_document_end(data, i)
                if stop is None:
                    if final:  # dropped without a second error: it was rejected already
                        i = len(data)
                    break
                self._discard = False
                i = stop
                continue
            if self._resync:
                found = [p for p in (data.find(b"{", i), data.find(b"[", i)) if p >= 0]
                if not found:
                    i = len(data)
                    break
                start = min(found)
            else:
                i = _skip_ws(data, i, len(data))
                if i >= len(data):
                    break
                if data[i] not in _VALUE_START:
                    self._errors.append(("unexpected_byte", base + i))
                    self._resync = True
                    i += 1
                    continue
                start = i
            limit = start + self.max_document_bytes
            try:
                stop = _scan_document(data, start, min(limit, len(data)), self.max_depth)
            except _Invalid as bad:
                self._errors.append((bad.kind, base + bad.offset))
                if bad.kind == "too_deep":
                    self._discard, self._resync = True, False
                    i = start
                else:
                    self._resync = True
                    i = bad.offset + 1 if bad.offset == start else bad.offset
                continue
            except _OutOfInput as short:
                if limit < len(data):
                    if short.number_may_end and data[limit] in _NUMBER_END:
                        stop = limit
                    else:
                        self._errors.append(("document_too_large", base + limit))
                        if limit > start and data[start] in _OPEN_ENDED:
                            self._discard, self._resync = True, False
                            i = start
                        else:  # a top-level number or literal: nothing to skip to the end of
                            self._resync = True
                            i = limit
                        continue
                elif not final:
                    i = start  # keep the open document and read it again with more input
                    break
                elif short.number_may_end:
                    stop = len(data)
                else:
                    self._errors.append(("truncated", base + len(data)))
                    i = len(data)
                    self._resync = False
                    break
            docs.append(data[start:stop])
            self._resync = False
            i = stop
        self._pending = bytearray(data[i:])
        self._pending_at = base + i
        if final:
            self._pending_at += len(self._pending)
            self._pending.clear()
            self._resync = self._discard = False
        return docs


def _rejected_document_end(data: bytes, start: int) -> int | None:
    """One past the last byte of the document at ``data[start]``, or None if it does not end there.

    Used for a document a cap rejected: only strings and the bracket count are followed, nothing
    is validated, so whatever comes after the point of rejection cannot stop the skip early.
    """
    depth, in_string, escaped = 0, False, False
    for i in range(start, len(data)):
        b = data[i]
        if escaped:
            escaped = False
        elif in_string:
            escaped = b == ord("\\")
            in_string = b != ord('"')
        elif b == ord('"'):
            in_string = True
        elif b in b"{[":
            depth += 1
        elif b in b"}]":
            depth -= 1
        if depth == 0 and not in_string:
            return i + 1
    return None


def frame_message(
    msg: bytes, max_document_bytes: int = 1 << 20, max_depth: int = 128
) -> tuple[bytes | None, tuple[str, int] | None]:
    """Frame one whole message holding exactly one document.

    Returns:
        ``(document, None)`` or ``(None, (kind, offset))`` with the offset relative to the message.
    """
    start = _skip_ws(msg, 0, len(msg))
    if start == len(msg):
        return None, ("empty", len(msg))
    limit = start + max_document_bytes
    try:
        stop = _scan_document(msg, start, min(limit, len(msg)), max_depth)
    except _Invalid as bad:
        return None, (bad.kind, bad.offset)
    except _OutOfInput as short:
        if limit < len(msg):
            if not (short.number_may_end and msg[limit] in _NUMBER_END):
                return None, ("document_too_large", limit)
            stop = limit
        elif short.number_may_end:
            stop = len(msg)
        else:
            return None, ("truncated", len(msg))
    extra = _skip_ws(msg, stop, len(msg))
    if extra < len(msg):
        return None, ("trailing_data", extra)
    return msg[start:stop], None


def frame_stream(
    data: bytes, max_document_bytes: int = 1 << 20, max_depth: int = 128
) -> tuple[list[bytes], list[tuple[str, int]]]:
    """Frame a whole stream at once (then finish); returns the documents and ``(kind, offset)`` errors."""
    framer = ReferenceFramer("stream", max_document_bytes, max_depth)
    docs = framer.feed(data) + framer.finish()
    return docs, framer.take_errors()


class RawDecodeFramer:
    """The usual pure-Python stream framer: ``json.JSONDecoder.raw_decode`` in a loop.

    The benchmark baseline for framing. It yields the documents as Python values (raw_decode
    cannot find a document's end without building it). Valid input only: it stops at the first
    invalid byte rather than resynchronising, and it accepts ``NaN`` and lone surrogates.
    """

    def __init__(self) -> None:
        self._decoder = json.JSONDecoder()
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._text = ""

    def feed(self, chunk: bytes) -> list[Any]:
        """Feed bytes; returns the values of the documents completed so far."""
        text = self._text + self._utf8.decode(chunk)
        out: list[Any] = []
        pos, n = 0, len(text)
        decode = self._decoder.raw_decode
        while True:
            while pos < n and text[pos] in " \t\r\n":
                pos += 1
            if pos == n:
                break
            try:
                value, end = decode(text, pos)
            except json.JSONDecodeError:
                break
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if number and (end == n or text[end] not in ' \t\r\n{["'):
                break  # a top-level number ("0" of "0.5") may go on in the next chunk
            out.append(value)
            pos = end
        self._text = text[pos:]
        return out


# --------------------------------------------------------------------------------------------
# Decoding (notifications / eventbridge) and records
# --------------------------------------------------------------------------------------------


class DecodeError(Exception):
    """A valid JSON document the decoder cannot use; ``reason`` as in ``Rejected.reason``."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(reason, message)
        self.reason = reason


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _lenient_str(value: object) -> str | None:
    """Strings as they are; integers and booleans as their JSON text; ``null`` as absent."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if _is_int(value):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    raise DecodeError("invalid_document", f"expected a string, got {type(value).__name__}")


def _lenient_int(value: object) -> int | None:
    """Integers (64-bit), integral-ish floats (rounded half away from zero) and numeric strings."""
    if value is None:
        return None
    if _is_int(value):
        assert isinstance(value, int)
        if -(1 << 63) <= value < (1 << 63):
            return value
        raise DecodeError("invalid_document", "integer out of range")
    if isinstance(value, float):
        if math.isfinite(value) and abs(value) < 9.0e15:
            return int(math.copysign(math.floor(abs(value) + 0.5), value))
        raise DecodeError("invalid_document", "number out of range")
    if isinstance(value, str):
        text = value.strip()
        digits = text[1:] if text[:1] in ("+", "-") else text
        if digits.isascii() and digits.isdigit():
            number = int(text)
            if -(1 << 63) <= number < (1 << 63):
                return number
        raise DecodeError("invalid_document", "expected an integer")
    raise DecodeError("invalid_document", f"expected an integer, got {type(value).__name__}")


def _float(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DecodeError("invalid_document", "expected a number")
    return float(value)


def _bool(value: object) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise DecodeError("invalid_document", "expected a boolean")


def _object(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DecodeError("invalid_document", "expected an object")
    return value


def _array(value: object) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise DecodeError("invalid_document", "expected an array")
    return value


def _words(value: object) -> list[dict[str, Any]]:
    words = []
    for item in _array(value):
        w = _object(item)
        confidence = _float(w.get("confidence"))
        words.append(
            {
                "word": _lenient_str(w.get("word")) or "",
                "offset_ms": _lenient_int(w.get("offsetMs")) or 0,
                "duration_ms": _lenient_int(w.get("durationMs")) or 0,
                "confidence": 0.0 if confidence is None else confidence,
            }
        )
    return words


def parse_iso_ms(text: str) -> int | None:
    """``YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]`` to epoch milliseconds; ``None`` if malformed."""
    b = text.encode()

    def num(lo: int, hi: int) -> int | None:
        part = b[lo:hi]
        if len(part) != hi - lo or not part.isdigit():
            return None
        return int(part)

    if len(b) < 19 or b[4:5] != b"-" or b[7:8] != b"-" or b[10:11] not in (b"T", b"t", b" "):
        return None
    if b[13:14] != b":" or b[16:17] != b":":
        return None
    parts = [num(0, 4), num(5, 7), num(8, 10), num(11, 13), num(14, 16), num(17, 19)]
    if any(part is None for part in parts):
        return None
    year, month, day, hour, minute, second = (int(part or 0) for part in parts)
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59 and second <= 60):
        return None
    i, millis = 19, 0
    if b[i : i + 1] == b".":
        i += 1
        start = i
        while i < len(b) and b[i : i + 1].isdigit():
            if i - start < 3:
                millis = millis * 10 + b[i] - 48
            i += 1
        if i == start:
            return None
        millis *= 10 ** max(0, 3 - (i - start))
    rest = b[i:]
    if rest in (b"", b"Z", b"z") or (len(rest) > 1 and rest[:1] in (b"Z", b"z")):
        offset_min = 0
    elif rest[:1] in (b"+", b"-"):
        h = num(i + 1, i + 3)
        m = num(i + 4, i + 6) if b[i + 3 : i + 4] == b":" else num(i + 3, i + 5)
        if h is None or m is None:
            return None
        offset_min = (h * 60 + m) * (1 if rest[:1] == b"+" else -1)
    else:
        return None
    # Days since 1970-01-01 (Howard Hinnant's days_from_civil).
    y = year - 1 if month <= 2 else year
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    days = era * 146_097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719_468
    return ((days * 24 + hour) * 60 + minute - offset_min) * 60_000 + second * 1000 + millis


def _control(kind: str, topic: str | None, message: str | None, code: str | None) -> dict[str, Any]:
    return {"event": "control", "kind": kind, "topic": topic, "message": message, "code": code}


def _message_body(body: object) -> dict[str, str | None]:
    b = _object(body)
    return {key: _lenient_str(b.get(key)) for key in ("message", "systemTopicType", "reason")}


def decode_document(wire_format: str, doc: Any) -> list[dict[str, Any]]:
    """Decode one parsed document into events (plain dicts); raises :class:`DecodeError`."""
    if not isinstance(doc, dict):
        raise DecodeError("invalid_document", "expected an object")
    if wire_format == "eventbridge" and doc.get("detail") is not None:
        return _decode_envelope(_object(doc["detail"]))
    return _decode_envelope(doc)


def _decode_envelope(env: dict[str, Any]) -> list[dict[str, Any]]:
    topic = _lenient_str(env.get("topicName"))
    body = env.get("eventBody")
    result = _lenient_str(env.get("result"))
    status = _lenient_str(env.get("status"))
    message = _lenient_str(env.get("message"))
    if topic is None:
        if result == "404":
            kind = "channel_not_found"
        elif result is not None and result.startswith("2"):
            kind = "unsubscribed" if status == "unsubscribed" else "subscribed"
        elif result is not None:
            kind = "subscribe_error"
        elif status is not None:
            kind = "socket_reply"
        else:
            raise DecodeError("invalid_document", "no topicName and no result")
        return [_control(kind, None, message if message is not None else status, result)]
    if topic == "channel.metadata":
        text = _message_body(body)["message"] if body is not None else None
        low = (text or "").lower()
        kind = (
            "heartbeat" if low == "websocket heartbeat" else "pong" if low == "pong" else "channel_metadata"
        )
        return [_control(kind, topic, text, None)]
    if topic.startswith("v2.conversations.") and topic.endswith(".transcription"):
        conversation = topic[len("v2.conversations.") : -len(".transcription")]
        if len("v2.conversations.") <= len(topic) - len(".transcription"):
            if body is None:
                raise DecodeError("missing_field", "eventBody")
            return _decode_transcription(topic, conversation, _object(body))
    if (topic.startswith(("v2.routing.queues.", "v2.users."))) and topic.endswith(".conversations"):
        if body is None:
            raise DecodeError("missing_field", "eventBody")
        return [_decode_discovery(topic, _object(body))]
    if topic.startswith("v2.system."):
        rest = topic[len("v2.system.") :]
        parsed = _message_body(body) if body is not None else None
        if rest.startswith(("socket_closing", "no_longer_subscribed", "token_revoked")):
            kind = next(
                k for k in ("socket_closing", "no_longer_subscribed", "token_revoked") if rest.startswith(k)
            )
        else:
            system_type = parsed["systemTopicType"] if parsed else None
            known = ("no_longer_subscribed", "token_revoked", "subscription_changed")
            kind = system_type if system_type in known else "system"
        text = None
        if parsed is not None:
            text = parsed["message"] if parsed["message"] is not None else parsed["reason"]
        return [_control(kind, topic, text, None)]
    if topic == "v2.subscription.updated":
        return [_control("subscription_updated", topic, None, None)]
    return [_control("unknown_topic", topic, None, None)]


def _decode_transcription(topic: str, topic_id: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    conversation_id = _lenient_str(body.get("conversationId"))
    communication_id = _lenient_str(body.get("communicationId"))
    event_time = _lenient_str(body.get("eventTime"))
    organization_id = _lenient_str(body.get("organizationId"))
    session_start = _lenient_int(body.get("sessionStartTimeMs")) or 0
    raw_status = body.get("status")
    status = _object(raw_status) if raw_status is not None else None
    status_text = _lenient_str(status.get("status")) if status is not None else None
    if status is not None:
        _lenient_int(status.get("offsetMs"))
    conversation = conversation_id if conversation_id is not None else topic_id
    event_time_ms = parse_iso_ms(event_time) if event_time is not None else None
    parsed: list[tuple[str | None, dict[str, Any]]] = []
    for raw in _array(body.get("transcripts")):
        result = _object(raw)
        utterance_id = _lenient_str(result.get("utteranceId"))
        is_final = _bool(result.get("isFinal"))
        channel = _lenient_str(result.get("channel"))
        provider = _lenient_str(result.get("engineProvider"))
        engine_id = _lenient_str(result.get("engineId"))
        dialect = _lenient_str(result.get("dialect"))
        alternatives = [_object(a) for a in _array(result.get("alternatives"))]
        parsed_alternatives = [
            {
                "confidence": _float(a.get("confidence")),
                "offset_ms": _lenient_int(a.get("offsetMs")) or 0,
                "duration_ms": _lenient_int(a.get("durationMs")) or 0,
                "text": _lenient_str(a.get("transcript")) or "",
                "words": _words(a.get("words")),
                "decorated_text": _lenient_str(a.get("decoratedTranscript")),
                "decorated_words": _words(a.get("decoratedWords")),
            }
            for a in alternatives
        ]
        engine = "/".join(part for part in (provider, engine_id) if part is not None) or None
        event: dict[str, Any] = {
            "event": "transcript",
            "conversation_id": conversation,
            "communication_id": communication_id,
            "utterance_id": utterance_id,
            "is_final": True if is_final is None else is_final,
            "channel": "UNKNOWN" if channel is None else channel,
            "text": "",
            "decorated_text": None,
            "words": [],
            "decorated_words": [],
            "confidence": None,
            "language": dialect,
            "session_start_ms": session_start,
            "offset_ms": 0,
            "duration_ms": 0,
            "event_time_ms": event_time_ms,
            "organization_id": organization_id,
            "engine": engine,
        }
        if parsed_alternatives:
            event.update(parsed_alternatives[0])
        parsed.append((utterance_id, event))
    # Like serde, every field is type-checked before a missing id is noticed.
    if any(utterance_id is None for utterance_id, _ in parsed):
        raise DecodeError("missing_field", "transcripts[].utteranceId")
    events = [event for _, event in parsed]
    if status is not None:
        events.append(
            {
                "event": "status",
                "topic": topic,
                "conversation_id": conversation,
                "communication_id": communication_id,
                "status": "UNKNOWN" if status_text is None else status_text,
            }
        )
    return events


def _decode_discovery(topic: str, body: dict[str, Any]) -> dict[str, Any]:
    conversation_id = _lenient_str(body.get("id"))
    participants = []
    for raw in _array(body.get("participants")):
        p = _object(raw)
        calls = [_object(c) for c in _array(p.get("calls"))]
        states = [_lenient_str(c.get("state")) for c in calls]
        calls_over = bool(states) and all(
            s is not None and s.lower() in ("disconnected", "terminated") for s in states
        )
        end_time = _lenient_str(p.get("endTime"))
        participants.append(
            {
                "id": _lenient_str(p.get("id")) or "",
                "purpose": _lenient_str(p.get("purpose")),
                "user_id": _lenient_str(p.get("userId")),
                "queue_id": _lenient_str(p.get("queueId")),
                "ended": end_time is not None or calls_over,
            }
        )
    if conversation_id is None:
        raise DecodeError("missing_field", "eventBody.id")
    ended = bool(participants) and all(p["ended"] for p in participants)
    return {
        "event": "conversation",
        "topic": topic,
        "conversation_id": conversation_id,
        "ended": ended,
        "participants": participants,
    }


def record_dict(record: Any) -> dict[str, Any]:
    """A core record as the reference writes it: ``{"type": class name, **record.to_dict()}``."""
    return {"type": type(record).__name__, **record.to_dict()}


@dataclass
class _Conversation:
    status: str | None = None
    communication_id: str | None = None
    utterances: int = 0
    words: int = 0
    first_ms: int | None = None
    last_ms: int | None = None
    last_seen_ms: int = 0


def _update(conversation_id: str, kind: str, at_ms: int, **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "type": "ConversationUpdate",
        "conversation_id": conversation_id,
        "kind": kind,
        "status": None,
        "communication_id": None,
        "topic": None,
        "at_ms": at_ms,
        "participants": [],
        "utterances": 0,
        "words": 0,
        "first_ms": None,
        "last_ms": None,
    }
    record.update(fields)
    return record


class ReferenceEngine:
    """Pure-Python twin of ``gcstream.Engine`` in message mode: frame dicts instead of record objects.

    Args:
        wire_format: ``"notifications"`` or ``"eventbridge"``.
        validate: Check each frame with the exact reference validator (:func:`frame_message`) before
            parsing it; without it, ``json.loads`` alone decides (faster, slightly more lenient).
        max_document_bytes: Frames longer than this are rejected as ``document_too_large``.
        dedup_capacity: How many utterance keys are remembered.
        max_conversations: Conversations tracked before the least recently active is evicted.
        conversation_idle_ms: Idle time after which ``tick`` evicts a conversation.
    """

    def __init__(
        self,
        wire_format: str = "notifications",
        *,
        validate: bool = True,
        max_document_bytes: int = 1 << 20,
        dedup_capacity: int = 1 << 20,
        max_conversations: int = 100_000,
        conversation_idle_ms: int = 21_600_000,
    ) -> None:
        self.wire_format = wire_format
        self.validate = validate
        self.max_document_bytes = max_document_bytes
        self.dedup_capacity = max(dedup_capacity, 1)
        self.max_conversations = max_conversations
        self.conversation_idle_ms = conversation_idle_ms
        self.duplicates = 0
        self._seen: OrderedDict[tuple[str, str | None, str], None] = OrderedDict()
        self._conversations: dict[str, _Conversation] = {}
        # Conversations that ended: a replay of what they said does not bring them back.
        self._ended: set[str] = set()

    def feed(self, frame: bytes | str, *, received_at_ms: int) -> list[dict[str, Any]]:
        """Feed one frame (one document); returns the records it completed, as dicts."""
        data = frame.encode() if isinstance(frame, str) else frame
        out: list[dict[str, Any]] = []
        if len(data) > self.max_document_bytes:
            out.append({"type": "Rejected", "reason": "document_too_large"})
            return out
        if self.validate:
            _, error = frame_message(data, self.max_document_bytes, 1 << 30)
            if error is not None:
                out.append({"type": "Rejected", "reason": "invalid_json"})
                return out
        try:
            doc = json.loads(data)
            events = decode_document(self.wire_format, doc)
        except json.JSONDecodeError:
            out.append({"type": "Rejected", "reason": "invalid_json"})
            return out
        except DecodeError as err:
            out.append({"type": "Rejected", "reason": err.reason})
            return out
        for event in events:
            self._event(event, received_at_ms, out)
        return out

    def feed_many(self, frames: Iterable[bytes | str], *, received_at_ms: int) -> list[dict[str, Any]]:
        """Feed several frames received at the same time."""
        out: list[dict[str, Any]] = []
        for frame in frames:
            out += self.feed(frame, received_at_ms=received_at_ms)
        return out

    def tick(self, now_ms: int) -> list[dict[str, Any]]:
        """Evict conversations idle for longer than ``conversation_idle_ms``."""
        out = []
        expired = sorted(
            cid
            for cid, c in self._conversations.items()
            if now_ms - c.last_seen_ms > self.conversation_idle_ms
        )
        for cid in expired:
            out.append(self._summary(cid, "evicted", self._conversations.pop(cid), now_ms))
        return out

    def _event(self, event: dict[str, Any], received_at_ms: int, out: list[dict[str, Any]]) -> None:
        kind = event["event"]
        if kind == "transcript":
            self._transcript(event, received_at_ms, out)
        elif kind == "status":
            self._status(event, received_at_ms, out)
        elif kind == "conversation":
            out.append(
                _update(
                    event["conversation_id"],
                    "call_ended" if event["ended"] else "discovered",
                    received_at_ms,
                    topic=event["topic"],
                    participants=event["participants"],
                )
            )
        else:
            out.append(
                {
                    "type": "Control",
                    "kind": event["kind"],
                    "topic": event["topic"],
                    "message": event["message"],
                    "code": event["code"],
                    "received_at_ms": received_at_ms,
                }
            )

    def _is_ended(self, conversation_id: str) -> bool:
        return conversation_id not in self._conversations and conversation_id in self._ended

    def _transcript(self, t: dict[str, Any], received_at_ms: int, out: list[dict[str, Any]]) -> None:
        after_end = self._is_ended(t["conversation_id"])
        if after_end and not t["is_final"]:
            return  # interim text of a conversation that ended is moot
        start_ms = t["session_start_ms"] + t["offset_ms"]
        end_ms = start_ms + t["duration_ms"]
        flags: list[str] = []
        confidence = t["confidence"]
        if confidence is None or math.isnan(confidence):
            confidence = 0.0
        elif not 0.0 <= confidence <= 1.0:
            flags.append("confidence_out_of_range")
            confidence = min(max(confidence, 0.0), 1.0)
        if after_end:
            flags.append("after_end")
        common = {
            "conversation_id": t["conversation_id"],
            "communication_id": t["communication_id"],
            "utterance_id": t["utterance_id"],
            "channel": t["channel"],
            "text": t["text"],
        }
        if not t["is_final"]:
            out.append(
                {
                    "type": "Partial",
                    **common,
                    "confidence": confidence,
                    "start_ms": start_ms,
                    "end_ms": end_ms,
                    "received_at_ms": received_at_ms,
                    "flags": tuple(flags),
                }
            )
            return
        key = (t["conversation_id"], t["communication_id"], t["utterance_id"])
        if key in self._seen:
            self.duplicates += 1
            return
        self._seen[key] = None
        if len(self._seen) > self.dedup_capacity:
            self._seen.popitem(last=False)
        state = self._touch(t["conversation_id"], received_at_ms, out)
        state.utterances += 1
        state.words += len(t["words"])
        state.first_ms = start_ms if state.first_ms is None else min(state.first_ms, start_ms)
        state.last_ms = end_ms if state.last_ms is None else max(state.last_ms, end_ms)
        if state.communication_id is None:
            state.communication_id = t["communication_id"]
        out.append(
            {
                "type": "Utterance",
                **common,
                "decorated_text": t["text"] if t["decorated_text"] is None else t["decorated_text"],
                "words": t["words"],
                "decorated_words": t["decorated_words"],
                "confidence": confidence,
                "language": t["language"],
                "start_ms": start_ms,
                "end_ms": end_ms,
                "received_at_ms": received_at_ms,
                "latency_ms": received_at_ms - end_ms,
                "event_time_ms": t["event_time_ms"],
                "offset_ms": t["offset_ms"],
                "duration_ms": t["duration_ms"],
                "organization_id": t["organization_id"],
                "engine": t["engine"],
                "pii": [],
                "flags": tuple(flags),
            }
        )

    def _touch(self, conversation_id: str, now_ms: int, out: list[dict[str, Any]]) -> _Conversation:
        if conversation_id not in self._conversations:
            if len(self._conversations) >= self.max_conversations:
                oldest = min(self._conversations.items(), key=lambda kv: (kv[1].last_seen_ms, kv[0]))[0]
                out.append(self._summary(oldest, "evicted", self._conversations.pop(oldest), now_ms))
            self._conversations[conversation_id] = _Conversation()
            out.append(_update(conversation_id, "started", now_ms))
        state = self._conversations[conversation_id]
        state.last_seen_ms = now_ms
        return state

    def _status(self, s: dict[str, Any], received_at_ms: int, out: list[dict[str, Any]]) -> None:
        if self._is_ended(s["conversation_id"]):
            return  # replayed from before the end, or the end again
        state = self._touch(s["conversation_id"], received_at_ms, out)
        if state.status == s["status"]:
            return
        state.status = s["status"]
        if state.communication_id is None:
            state.communication_id = s["communication_id"]
        if s["status"] == "SESSION_ENDED":
            summary = self._summary(
                s["conversation_id"], "ended", self._conversations.pop(s["conversation_id"]), received_at_ms
            )
            summary["topic"] = s["topic"]
            out.append(summary)
            self._ended.add(s["conversation_id"])
            return
        out.append(
            _update(
                s["conversation_id"],
                "status",
                received_at_ms,
                status=s["status"],
                communication_id=s["communication_id"],
                topic=s["topic"],
            )
        )

    @staticmethod
    def _summary(conversation_id: str, kind: str, state: _Conversation, at_ms: int) -> dict[str, Any]:
        return _update(
            conversation_id,
            kind,
            at_ms,
            status=state.status,
            communication_id=state.communication_id,
            utterances=state.utterances,
            words=state.words,
            first_ms=state.first_ms,
            last_ms=state.last_ms,
        )


def reference_pipeline(
    frames: Iterable[bytes], *, received_at_ms: int, engine: ReferenceEngine | None = None
) -> list[dict[str, Any]]:
    """The benchmark baseline: frame → ``json.loads`` → decode → de-duplicate → record dicts.

    This is the engine's work written the way a Python service would write it (``json.loads`` per
    WebSocket message, then dict lookups), without the slow byte-exact validator.
    """
    engine = engine or ReferenceEngine(validate=False)
    return engine.feed_many(frames, received_at_ms=received_at_ms)
