"""``gcstream.Redactor`` against the shared PII data (``../shared/testdata``, README §2-§3).

Data-driven tests skip cleanly when the shared data is absent (the ``testdata`` fixture):

* ``pii/presidio_cases.jsonl``: Presidio's recognizer cases, compared by exact code-point span.
  The phone rows repeat one text at several leniencies; the core is at leniency 1 ("valid"), so
  the leniency-1 row is used, or the lowest leniency given when a text has no leniency-1 row.
* ``pii/card_test_numbers.jsonl``: every Luhn-valid number digits-only, as the source formatted
  it and inside a sentence; ``4242424242424241`` is a negative; ``6200500000000000004`` is not
  scored (README §2b: ambiguous UnionPay fixture).
* ``spoken_pii/nemo_itn_en_cases.jsonl``: spoken PII redacted word by word, context kept; the
  ``OTHER_ALNUM`` rows untouched. IP-address and ``dot a b c`` rows are out of scope (see
  :func:`nemo_out_of_scope`).
* ``spoken_pii/number_normalization_cases.jsonl``: the "must stay words" inputs.

Then configuration: errors name the setting (``ConfigError.field``); custom patterns and tag
overrides work. And the engine's interim text masks PII still being spoken as ``[PENDING]``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gcstream
import pytest
from gcstream import ConfigError, Redactor
from hypothesis import given
from hypothesis import strategies as st

ENTITY_KIND = {
    "CREDIT_CARD": "credit_card",
    "US_SSN": "ssn",
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
}
TAGS = ("[SSN]", "[PHONE]", "[EMAIL]", "[CREDIT_CARD]")

LUHN_NEGATIVES = {
    "4012-8888-8888-1882",
    "my credit card number is 4012-8888-8888-1882",
    "36168002586008",
    "my credit card number is 36168002586008",
}
"""README §2a: the four Presidio credit-card cases that fail Luhn."""

UNSCORED_CARD = "6200500000000000004"
"""README §2b: 19-digit UnionPay fixture that fails Luhn; some UnionPay numbers skip Luhn."""


def load(folder: Path, rel: str) -> list[dict[str, Any]]:
    path = folder / rel
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor()


def spans(r: Redactor, text: str, kind: str | None = None) -> list[tuple[int, int]]:
    return sorted((f.start, f.end) for f in r.scan(text) if kind is None or f.kind == kind)


# --- Presidio recognizer cases -------------------------------------------------------------------


def presidio_rows(folder: Path) -> list[dict[str, Any]]:
    """The rows to score: every non-phone row, and one leniency per phone text (1, else lowest)."""
    rows = load(folder, "pii/presidio_cases.jsonl")
    chosen: dict[str, int] = {}
    for row in rows:
        leniency = row["recognizer_config"].get("leniency")
        if leniency is not None:
            now = chosen.get(row["text"])
            if now is None or leniency == 1 or (now != 1 and leniency < now):
                chosen[row["text"]] = leniency
    return [
        row for row in rows if row["recognizer_config"].get("leniency") in (None, chosen.get(row["text"]))
    ]


def test_presidio_cases_by_span(testdata: Path, redactor: Redactor) -> None:
    rows = presidio_rows(testdata)
    assert len(rows) == 60  # 40 non-phone rows + 20 phone texts, one leniency each
    failures = []
    for row in rows:
        kind = ENTITY_KIND[row["entity"]]
        expected = sorted((s, e) for s, e in row["expected_spans"])
        got = spans(redactor, row["text"], kind)
        if got != expected:
            failures.append(f"{row['entity']} {row['text']!r}: expected {expected}, got {got}")
        # the spans are code-point offsets: the text at each one is what Presidio expects
        assert [row["text"][s:e] for s, e in row["expected_spans"]] == row["expected_substrings"]
    assert not failures, "\n".join(failures)


def test_presidio_negatives_find_nothing(testdata: Path, redactor: Redactor) -> None:
    rows = presidio_rows(testdata)
    luhn = [r for r in rows if r["text"] in LUHN_NEGATIVES]
    ssn = [r for r in rows if r["entity"] == "US_SSN" and r["expected_count"] == 0]
    assert len(luhn) == 4
    assert len(ssn) == 7
    for row in luhn:
        # nothing at all, not merely nothing of the row's own kind
        assert redactor.scan(row["text"]) == [], row["text"]
        assert redactor.redact(row["text"]) == row["text"]
    for row in ssn:
        assert "ssn" not in {f.kind for f in redactor.scan(row["text"])}, row["text"]
        if row["text"] != "0780511201":
            assert redactor.scan(row["text"]) == [], row["text"]
    # A bare 10-digit number is redacted as a phone: not an SSN, and over-redaction is the
    # safe side for a call transcript (a strict NANP check would reject area code 078).
    assert [f.kind for f in redactor.scan("0780511201")] == ["phone"]


def test_presidio_redact_replaces_exactly_the_spans(testdata: Path, redactor: Redactor) -> None:
    for row in presidio_rows(testdata):
        if row["entity"] == "PHONE_NUMBER":
            continue  # phone texts also hold a second, unlabelled phone at other leniencies
        text = row["text"]
        found = sorted(redactor.scan(text), key=lambda f: f.start)
        expected = text
        for f in reversed(found):
            expected = expected[: f.start] + f"[{f.kind.upper()}]" + expected[f.end :]
        assert redactor.redact(text) == expected
        for sub in row["expected_substrings"]:
            assert sub not in redactor.redact(text)


def test_findings_carry_no_value(redactor: Redactor) -> None:
    (f,) = redactor.scan("é card 4111 1111 1111 1111 ok")
    assert f.to_dict() == {"kind": "credit_card", "field": "text", "start": 7, "end": 26}
    assert "4111" not in repr(f)


def test_text_without_pii_comes_back_as_the_same_object(redactor: Redactor) -> None:
    text = "thanks for calling how can i help"
    assert redactor.redact(text) is text

    class Tagged(str):
        pass

    tagged = Tagged("thanks for calling")
    out = redactor.redact(tagged)
    assert type(out) is str and out == tagged
    assert redactor.redact("call 4111 1111 1111 1111") == "call [CREDIT_CARD]"


# --- payment processors' test cards --------------------------------------------------------------


def card_rows(folder: Path) -> list[dict[str, Any]]:
    rows = load(folder, "pii/card_test_numbers.jsonl")
    return [r for r in rows if r["number"] != UNSCORED_CARD]


def only_card(r: Redactor, text: str, needle: str) -> bool:
    start = text.index(needle)
    found = r.scan(text)
    return [(f.kind, f.start, f.end) for f in found] == [("credit_card", start, start + len(needle))]


def test_cards_luhn_valid_all_forms(testdata: Path, redactor: Redactor) -> None:
    rows = [r for r in card_rows(testdata) if r["luhn_valid"]]
    assert len(rows) == 117
    misses = []
    for row in rows:
        number = row["number"]
        formatted = row["formatted"] or number
        sentence = f"my card number is {formatted} thanks"
        for text, needle in ((number, number), (formatted, formatted), (sentence, formatted)):
            if not only_card(redactor, text, needle):
                misses.append(f"{row['brand']} {text!r}: {[f.to_dict() for f in redactor.scan(text)]}")
        assert redactor.redact(sentence) == "my card number is [CREDIT_CARD] thanks"
    assert not misses, "\n".join(misses)


@pytest.mark.parametrize(
    "number",
    [
        "2223003122003222",  # 2-series Mastercard, missed by Presidio's regex
        "4013250000000000006",  # 19-digit V Pay
    ],
)
def test_cards_presidio_misses_are_caught(testdata: Path, redactor: Redactor, number: str) -> None:
    assert number in {r["number"] for r in card_rows(testdata)}
    assert redactor.redact(f"card {number}.") == "card [CREDIT_CARD]."


def test_cards_luhn_invalid_not_found(testdata: Path, redactor: Redactor) -> None:
    invalid = {r["number"] for r in card_rows(testdata) if not r["luhn_valid"]}
    assert invalid == {"4242424242424241"}
    for number in invalid:
        for text in (
            number,
            f"my card number is {number}",
            " ".join(number[i : i + 4] for i in range(0, 16, 4)),
        ):
            assert redactor.scan(text) == [], text


# --- spoken PII (NeMo ITN cases) -----------------------------------------------------------------


def nemo_out_of_scope(row: dict[str, Any]) -> str | None:
    """Why a NeMo row is not scored, or None. Recorded here so the exclusions are visible."""
    if row["category"] == "IP_ADDRESS":
        return "IP addresses are not one of the redacted kinds (ssn, phone, email, credit_card)"
    if row["spoken"].lower().endswith("dot a b c"):
        return (
            "`.abc` is a brand TLD outside the spoken-TLD list; accepting any spelled 3-letter TLD "
            "would turn ordinary `... at ... dot a b c` speech into emails"
        )
    return None


def nemo_context_words(spoken: str) -> int:
    """Leading words of an ``is_pii`` row that are context, not the value ("ssn is", "dot")."""
    lower = spoken.lower()
    if lower.startswith("ssn is "):
        return 2
    return 1 if lower.startswith("dot ") else 0


def test_nemo_out_of_scope_rows_are_the_documented_ones(testdata: Path) -> None:
    rows = load(testdata, "spoken_pii/nemo_itn_en_cases.jsonl")
    out = [r for r in rows if nemo_out_of_scope(r)]
    assert sum(r["category"] == "IP_ADDRESS" for r in out) == 8
    assert sum(r["spoken"].lower().endswith("dot a b c") for r in out) == 3
    assert len(out) == 11


def test_nemo_spoken_pii_redacted_context_kept(testdata: Path, redactor: Redactor) -> None:
    rows = [
        r
        for r in load(testdata, "spoken_pii/nemo_itn_en_cases.jsonl")
        if r["is_pii"] is True and not nemo_out_of_scope(r)
    ]
    assert len(rows) == 73 - 3  # 55 email + 16 phone + 2 ssn, minus the three `.abc` rows
    failures = []
    for row in rows:
        words = row["spoken"].split()
        ctx = nemo_context_words(row["spoken"])
        out = redactor.redact_tokens(words)
        assert len(out) == len(words)
        want = [w if i < ctx else "<tag>" for i, w in enumerate(words)]
        got = ["<tag>" if o in TAGS else o for o in out]
        if got != want:
            failures.append(f"{row['category']} {row['spoken']!r}: {out}")
        # and as one text: the context words stay, the value becomes exactly one tag
        text_out = redactor.redact(row["spoken"])
        kept = " ".join(words[:ctx])
        if not (text_out.startswith(kept) and sum(text_out.count(t) for t in TAGS) == 1):
            failures.append(f"{row['category']} {row['spoken']!r} as text: {text_out!r}")
    assert not failures, "\n".join(failures)


def test_nemo_other_alnum_untouched(testdata: Path, redactor: Redactor) -> None:
    rows = [r for r in load(testdata, "spoken_pii/nemo_itn_en_cases.jsonl") if r["category"] == "OTHER_ALNUM"]
    assert len(rows) == 14
    for row in rows:
        assert redactor.scan(row["spoken"]) == [], row["spoken"]
        words = row["spoken"].split()
        assert redactor.redact_tokens(words) == words


def test_nemo_not_pii_rows_untouched(testdata: Path, redactor: Redactor) -> None:
    """URL and domain rows are labelled ``is_pii: false``: no false positives there either."""
    rows = [r for r in load(testdata, "spoken_pii/nemo_itn_en_cases.jsonl") if r["is_pii"] is False]
    assert len(rows) == 42
    flagged = [(r["spoken"], redactor.redact(r["spoken"])) for r in rows if redactor.scan(r["spoken"])]
    assert flagged == []


# --- number phrases that must stay words ---------------------------------------------------------


@pytest.mark.parametrize("phrase", ["No one is innocent.", "One second please!", "My name is o s c a r."])
def test_number_phrases_must_stay_words(testdata: Path, redactor: Redactor, phrase: str) -> None:
    (text,) = [
        r["input"]
        for r in load(testdata, "spoken_pii/number_normalization_cases.jsonl")
        if r["input"].startswith(phrase)
    ]
    assert redactor.scan(text) == []
    assert redactor.redact(text) == text
    assert redactor.redact_tokens(text.split()) == text.split()


def test_number_phrases_left_alone_by_the_tool_stay_words(testdata: Path, redactor: Redactor) -> None:
    """Inputs the normaliser itself leaves unchanged ("one cannot know", "3.14") are not PII."""
    rows = load(testdata, "spoken_pii/number_normalization_cases.jsonl")
    same = [r["input"] for r in rows if r["input"] == r["expected_output"]]
    assert len(same) >= 5
    assert [t for t in same if redactor.scan(t)] == []


def test_number_phrases_only_phones_redacted(testdata: Path, redactor: Redactor) -> None:
    """Ordinary numbers ("five twenty four", "one triple oh one") are not PII; only the inputs
    that read out a phone number are redacted, and only as ``[PHONE]``."""
    rows = load(testdata, "spoken_pii/number_normalization_cases.jsonl")
    flagged = {r["input"]: redactor.redact(r["input"]) for r in rows if redactor.scan(r["input"])}
    phone_phrases = (
        "nine sixty zero six twelve twenty-one",
        "nine sixty o six twelve twenty-one",
        "call me at one two",
    )
    assert len(flagged) == 5, flagged
    for text, out in flagged.items():
        assert any(p in text for p in phone_phrases), text
        assert "[PHONE]" in out
        assert not any(t in out for t in TAGS if t != "[PHONE]")


# --- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kinds": ["zip"]}, "kinds"),
        ({"tags": {"zip": "[ZIP]"}}, "tags.zip"),
        ({"tags": {"ssn": "555-0132"}}, "tags.ssn"),  # the tag would itself be redacted
        ({"tags": {"ssn": ""}}, "tags.ssn"),
        ({"custom": [("acct", r"ACCT(\d+", None)]}, "custom[0].pattern"),  # does not compile
        ({"custom": [("acct", r"\d*", None)]}, "custom[0].pattern"),  # matches the empty string
        ({"custom": [("phone", "x", None)]}, "custom[0].name"),  # a built-in name
        ({"custom": [("", "x", None)]}, "custom[0].name"),
        ({"custom": [("acct", "x", "")]}, "custom[0].tag"),
        ({"custom": [("ok", r"\bOK\d\b", None), ("acct", "(", None)]}, "custom[1].pattern"),
        ({"custom": [("caps", "[A-Z]{3}", None)]}, "tags."),  # would redact the built-in tags
    ],
)
def test_config_errors_name_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        Redactor(**kwargs)
    # The core reports Engine-style names (`pii_kinds`, `pii.custom[0].pattern`); the
    # setting's own name is always the suffix.
    assert field.rstrip(".") in info.value.field, (info.value.field, str(info.value))
    assert isinstance(info.value, gcstream.GcstreamError)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"pii_kinds": ["zip"]}, "pii_kinds"),
        ({"pii_tags": {"zip": "[ZIP]"}}, "pii.tags.zip"),
        ({"pii_custom": [("acct", r"ACCT(\d+", None)]}, "pii.custom[0].pattern"),
        ({"pii_hold_ms": -1}, "pii_hold_ms"),
    ],
)
def test_engine_config_errors_name_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        gcstream.Engine(**kwargs)
    assert info.value.field == field


def test_custom_patterns_and_tag_overrides() -> None:
    r = Redactor(
        kinds=["phone", "email"],
        tags={"phone": "<phone>", "order": "<order>"},
        custom=[("order", r"\bORD-\d{6}\b", None), ("member_id", r"\bM\d{8}\b", "[MEMBER]")],
        spoken=False,
    )
    assert r.kinds == ["phone", "email", "order", "member_id"]
    text = "ORD-123456 M12345678 415-555-0132 a@b.com 4111111111111111 five five five one two one two one two one"
    assert r.redact(text) == (
        "<order> [MEMBER] <phone> [EMAIL] 4111111111111111 five five five one two one two one two one"
    )
    assert [f.kind for f in r.scan(text)] == ["order", "member_id", "phone", "email"]
    assert r.redact_tokens(["order", "ORD-123456", "ok"]) == ["order", "<order>", "ok"]


def test_kinds_subset_and_spoken_off() -> None:
    assert Redactor(kinds=["ssn"]).redact("078-05-1123 and 4111 1111 1111 1111") == (
        "[SSN] and 4111 1111 1111 1111"
    )
    spoken = "my card is four one one one one one one one one one one one one one one one"
    assert Redactor().redact(spoken) == "my card is [CREDIT_CARD]"
    assert Redactor(spoken=False).redact(spoken) == spoken


def test_engine_applies_tags_and_custom_patterns() -> None:
    engine = gcstream.Engine(
        pii_tags={"credit_card": "[CARD]"}, pii_custom=[("order", r"\bORD-\d{6}\b", "[ORDER]")], pii_hold_ms=0
    )
    body = {
        "conversationId": "c1",
        "communicationId": "m1",
        "sessionStartTimeMs": 1_000,
        "transcripts": [
            {
                "utteranceId": "u1",
                "isFinal": True,
                "channel": "EXTERNAL",
                "alternatives": [
                    {
                        "confidence": 0.9,
                        "offsetMs": 0,
                        "durationMs": 500,
                        "transcript": "order ORD-123456 card 4111 1111 1111 1111",
                        "decoratedTranscript": "order ORD-123456 card 4111 1111 1111 1111",
                        "words": [],
                        "decoratedWords": [],
                    }
                ],
            }
        ],
    }
    frame = json.dumps({"topicName": "v2.conversations.c1.transcription", "version": "2", "eventBody": body})
    records = engine.feed(frame, received_at_ms=2_000) + engine.finish()
    (utt,) = [r for r in records if isinstance(r, gcstream.Utterance)]
    assert utt.text == "order [ORDER] card [CARD]"
    assert utt.decorated_text == "order [ORDER] card [CARD]"
    assert {f.kind for f in utt.pii} == {"order", "credit_card"}


def _transcript_frame(utterance_id: str, transcript: str, is_final: bool) -> str:
    body = {
        "conversationId": "c1",
        "sessionStartTimeMs": 1_000,
        "transcripts": [
            {
                "utteranceId": utterance_id,
                "isFinal": is_final,
                "channel": "EXTERNAL",
                "alternatives": [
                    {"confidence": 0.9, "offsetMs": 500, "durationMs": 100, "transcript": transcript}
                ],
            }
        ],
    }
    return json.dumps({"topicName": "v2.conversations.c1.transcription", "version": "2", "eventBody": body})


@pytest.mark.parametrize(
    ("interim", "shown"),
    [
        ("my card number is 411111111111", "my card number is [PENDING]"),
        ("my social is 078-05-", "my social is [PENDING]"),
        ("my card is 4111-1111-1111", "my card is [PENDING]"),
        ("my card is 4111, 1111,", "my card is [PENDING]"),
        ("my card is\u00a04111\u00a01111", "my card is\u00a0[PENDING]"),
        ("my email is john.smith@gmail", "my email is [PENDING]"),
        ("my email is john dot smith at gmail", "my email is [PENDING]"),
        ("my email is john dot smith at gmail.", "my email is [PENDING]"),
        # Ordinary captions are shown as they are.
        ("I have 2 kids", "I have 2 kids"),
        ("see you at 5", "see you at 5"),
        ("two plus two", "two plus two"),
    ],
)
def test_engine_interim_text_never_shows_the_start_of_pii(interim: str, shown: str) -> None:
    engine = gcstream.Engine()
    records = engine.feed(_transcript_frame("u1", interim, False), received_at_ms=5_000)
    assert [r.text for r in records if isinstance(r, gcstream.Partial)] == [shown]


def test_engine_interim_text_masks_an_address_until_it_is_complete() -> None:
    # Interim results grow word by word, each with the whole text so far, as Genesys sends them.
    words = ["my", "email", "is", "john", "dot", "smith", "at", "gmail", "dot", "com", "thanks"]
    engine = gcstream.Engine()
    records: list[object] = []
    for n in range(1, len(words) + 1):
        records += engine.feed(_transcript_frame("u1", " ".join(words[:n]), False), received_at_ms=5_000)
    records += engine.feed(_transcript_frame("u1", " ".join(words), True), received_at_ms=5_000)
    records += engine.finish()
    partials = [r.text for r in records if isinstance(r, gcstream.Partial)]
    pending = "my email is [PENDING]"
    assert partials == [
        "my",
        "my email",
        "my email is",
        "my email is john",
        *[pending] * 5,
        "my email is [EMAIL]",
        "my email is [EMAIL] thanks",
    ]
    (utt,) = [r for r in records if isinstance(r, gcstream.Utterance)]
    assert utt.text == "my email is [EMAIL] thanks"


def test_engine_interim_fragments_mask_a_card_read_out_in_pieces() -> None:
    # The fragments wire format concatenates pieces: "4111" "1111" … make one growing token.
    engine = gcstream.Engine(wire_format="fragments")
    records: list[object] = []
    pieces = [("my card is 4111", False), ("1111", False), ("1111", False), ("1111", True)]
    for i, (piece, final) in enumerate(pieces):
        doc = {
            "utteranceId": "u1",
            "conversationId": "c1",
            "speaker": "customer",
            "text": piece,
            "confidence": 0.9,
            "startTime": 1_000 + 500 * i,
            "endTime": 1_500 + 500 * i,
            "isFinal": final,
        }
        records += engine.feed(json.dumps(doc), received_at_ms=1_600 + 500 * i)
    records += engine.finish()
    assert [r.text for r in records if isinstance(r, gcstream.Partial)] == ["my card is [PENDING]"] * 3
    (utt,) = [r for r in records if isinstance(r, gcstream.Utterance)]
    assert utt.text == "my card is [CREDIT_CARD]"


def test_redact_many_is_redact_on_each_text(redactor: Redactor) -> None:
    texts = [
        "my card number is four one one one one one one one one one one one one one one one",
        "thank you for calling",
        "you can reach me at (415) 555-0132 after six",
        "",
        "ssn is 219-09-1234 okay",
    ]
    assert redactor.redact_many(texts) == [redactor.redact(t) for t in texts]
    assert redactor.redact_many(iter(texts)) == [redactor.redact(t) for t in texts]
    assert redactor.redact_many([]) == []
    # A text without PII comes back as the same object, as from `redact`.
    assert redactor.redact_many(texts)[1] is texts[1]
    assert "[PHONE]" in redactor.redact_many(texts)[2]


def test_redact_many_rejects_what_is_not_a_list_of_str(redactor: Redactor) -> None:
    with pytest.raises(TypeError, match="not one str"):
        redactor.redact_many("a single text")
    with pytest.raises(TypeError, match=r"item 1 is bytes, not str"):
        redactor.redact_many(["fine", b"not text"])
    with pytest.raises(TypeError):
        redactor.redact_many(42)


# --- spaces and dashes outside ASCII ---------------------------------------------------------------

UNICODE_SPACES = "\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
"""Every space outside ASCII (Unicode ``White_Space``, what ``str.split()`` splits on too)."""

UNICODE_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2212\ufe63\uff0d"
"""Hyphens, dashes and minus signs outside ASCII."""


@pytest.mark.parametrize("space", UNICODE_SPACES)
def test_unicode_spaces_and_dashes_group_digits(redactor: Redactor, space: str) -> None:
    for dash in UNICODE_DASHES:
        card = space.join(["4111", "1111", "1111", "1111"])
        phone = f"(212){space}555{dash}0187"
        ssn = f"078{dash}05{dash}1121"
        text = f"My card is {card}, phone {phone}, ssn {ssn}."
        assert redactor.redact(text) == "My card is [CREDIT_CARD], phone [PHONE], ssn [SSN].", ascii(text)
        assert [(f.kind, text[f.start : f.end]) for f in redactor.scan(text)] == [
            ("credit_card", card),
            ("phone", phone),
            ("ssn", ssn),
        ]
        spaced = f"call{space}212{space}555{space}0187{space}or{space}078{space}05{space}1121"
        assert redactor.redact(spaced) == f"call{space}[PHONE]{space}or{space}[SSN]"


LOOKALIKE_PIECES = [
    "4111 1111 1111 1111",
    "5555-5555-5555-4444",
    "3782 822463 10005",
    "(415) 555-0132",
    "212-555-0187",
    "+44 20 7123 4567",
    "078-05-1123",
    "219 09 1234",
    "four one one one one one one one one one one one one one one one",
    "five five five - two three four - five six seven eight",
    "john dot smith at gmail dot com",
    "my card is",
    "call me on",
    "the ticket 4471",
    "twenty-one",
    "x-ray",
    "thanks",
    "-",
    ",",
    "caf\u00e9 \u2019s",
]


@given(
    pieces=st.lists(st.sampled_from(LOOKALIKE_PIECES), min_size=1, max_size=6),
    picks=st.lists(st.integers(0, 2 * len(UNICODE_SPACES + UNICODE_DASHES)), min_size=64, max_size=64),
)
def test_unicode_lookalikes_find_what_ascii_finds(pieces: list[str], picks: list[int]) -> None:
    """Each ASCII space or ``-`` replaced by a look-alike outside ASCII (or kept) gives the same
    findings at the same code-point spans, and the same redaction up to those characters."""
    r = Redactor()
    text = " ".join(pieces)
    alike, k = [], 0
    for c in text:
        if c in " -":
            choices = UNICODE_SPACES if c == " " else UNICODE_DASHES
            pick = picks[k % len(picks)]
            k += 1
            alike.append(choices[pick % len(choices)] if pick < len(picks) // 2 else c)
        else:
            alike.append(c)
    alike_text = "".join(alike)
    assert [(f.kind, f.start, f.end) for f in r.scan(alike_text)] == [
        (f.kind, f.start, f.end) for f in r.scan(text)
    ], ascii(alike_text)
    back = str.maketrans(dict.fromkeys(UNICODE_SPACES, " ") | dict.fromkeys(UNICODE_DASHES, "-"))
    assert r.redact(alike_text).translate(back) == r.redact(text)


def transcription(utterance_id: str, text: str, tokens: list[str], *, final: bool = True) -> str:
    """One transcription message whose four text fields carry ``text`` and its ``tokens``."""
    words = [
        {"confidence": 0.9, "offsetMs": 500 + 200 * i, "durationMs": 180, "word": w}
        for i, w in enumerate(tokens)
    ]
    alternative = {
        "confidence": 0.9,
        "offsetMs": 500,
        "durationMs": 200 * len(tokens),
        "transcript": text,
        "decoratedTranscript": text,
        "words": words,
        "decoratedWords": words,
    }
    body = {
        "conversationId": "c1",
        "sessionStartTimeMs": 1_000,
        "transcripts": [
            {
                "utteranceId": utterance_id,
                "isFinal": final,
                "channel": "EXTERNAL",
                "alternatives": [alternative],
            }
        ],
    }
    return json.dumps({"topicName": "v2.conversations.c1.transcription", "version": "2", "eventBody": body})


@pytest.mark.parametrize("space", ["\u00a0", "\u202f", "\u2009", "\u2007", "\u3000"])
@pytest.mark.parametrize("tokens", ["split", "whole"])
def test_engine_redacts_values_grouped_with_unicode_spaces(space: str, tokens: str) -> None:
    """Text, decorated text and both word lists lose the values, whether the word lists split
    at the spaces outside ASCII (as ``str.split`` does) or keep each value in one entry."""
    card = space.join(["4111", "1111", "1111", "1111"])
    text = f"My card is {card}, phone (212){space}555{space}0187, ssn 078\u201105\u20111121 thanks"
    engine = gcstream.Engine()
    records = engine.feed(
        transcription("u1", text, text.split() if tokens == "split" else text.split(" ")),
        received_at_ms=5_000,
    )
    records += engine.finish()
    (utt,) = [r for r in records if isinstance(r, gcstream.Utterance)]
    fields = [utt.text, utt.decorated_text] + [w.word for w in utt.words + utt.decorated_words]
    assert not [f for f in fields if any(c.isdigit() for c in f)], fields
    for field in (utt.text, utt.decorated_text):
        assert all(t in field for t in ("[CREDIT_CARD]", "[PHONE]", "[SSN]")), field


@pytest.mark.parametrize("space", [" ", "\u00a0", "\u202f", "\u3000"])
def test_interim_text_masks_digit_groups_split_by_any_space(space: str) -> None:
    text = space.join(["my card is 4111", "1111", "1111"])
    engine = gcstream.Engine()
    records = engine.feed(transcription("u1", text, text.split(), final=False), received_at_ms=5_000)
    (partial,) = [r for r in records if isinstance(r, gcstream.Partial)]
    assert partial.text == "my card is [PENDING]"
