"""Person names (``person_name``): found by spelling and cue phrases, not by a list of names.

* ``Redactor(kinds=[..., "person_name"])``: what must be found, what ordinary speech must keep;
  the kind is opt-in for ``Redactor()`` and ``Engine()``.
* Recall on names nobody wrote the detector for: every en_US first and last name Faker knows,
  spelled and given after a cue (Faker is a test dependency; it works offline).
* Precision on the shared data (``../shared/testdata``): no name in Presidio's cases, the NeMo
  rows or the number phrases, except "My name is o s c a r." — a name.
* The engine: a name given over three utterances ("yeah it is john smith" | "that is" | "smith
  s m i t h") is redacted in every text field and word list, timings kept; an answer to the
  other party's request ("can i have your first and last name") is a name; ``stats()`` counts
  the kind; the simulator's calls leave no name behind.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import gcstream
import pytest
from faker.providers.person.en_US import Provider as FakerNames
from gcstream import Redactor
from gcstream.simulator.conversations import ConversationFactory, Directory
from hypothesis import given, settings
from hypothesis import strategies as st

KINDS = ["ssn", "phone", "email", "credit_card", "person_name"]
TAG = "[PERSON_NAME]"


@pytest.fixture(scope="module")
def names() -> Redactor:
    return Redactor(kinds=KINDS)


# --- what is a name ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("yeah it is john smith that is smith s m i t h", "yeah it is [PERSON_NAME] that is [PERSON_NAME]"),
        ("yeah it is john smith that is Smith S M I T H", "yeah it is [PERSON_NAME] that is [PERSON_NAME]"),
        ("that is lee l e e", "that is [PERSON_NAME]"),
        ("it's wu w u", "it's [PERSON_NAME]"),
        ("it's long l o n g", "it's [PERSON_NAME]"),
        ("it's hill, h i double l", "it's [PERSON_NAME], [PERSON_NAME]"),
        ("lopez l as in larry o p e z okay", "[PERSON_NAME] okay"),
        ("smith, that's S-M-I-T-H.", "[PERSON_NAME], that's [PERSON_NAME]."),
        ("My name is o s c a r.", "My name is [PERSON_NAME]."),
        ("my last name is s m i t h", "my last name is [PERSON_NAME]"),
        ("it's spelled w-r-i-g-h-t", "it's spelled [PERSON_NAME]"),
        (
            "thank you for calling acme industrial supply my name is alex how can i help you today",
            "thank you for calling acme industrial supply my name is [PERSON_NAME] how can i help you today",
        ),
        (
            "hi my name is bradley best and i have a question",
            "hi my name is [PERSON_NAME] and i have a question",
        ),
        ("my name is will smith", "my name is [PERSON_NAME]"),
        ("my name's mary-kate o'brien", "my name's [PERSON_NAME]"),
        ("the name on the account is jane doe", "the name on the account is [PERSON_NAME]"),
        ("first name is maria last name is garcia", "first name is [PERSON_NAME] last name is [PERSON_NAME]"),
        ("surname: Nguyen.", "surname: [PERSON_NAME]."),
        ("This is Alex from billing", "This is [PERSON_NAME] from billing"),
        ("hi this is Dr. Jane Foster calling back", "hi this is Dr. [PERSON_NAME] calling back"),
        (
            "can i have your first and last name please yeah it's john smith",
            "can i have your first and last name please yeah it's [PERSON_NAME]",
        ),
        # Where kinds overlap the longer finding wins: a spelled address is an email.
        ("my name is j o h n dot s m i t h at gmail dot com", "my name is [EMAIL]"),
        (
            "my name is john and my email is john dot smith at gmail dot com",
            "my name is [PERSON_NAME] and my email is [EMAIL]",
        ),
    ],
)
def test_names_found(names: Redactor, text: str, want: str) -> None:
    assert names.redact(text) == want
    assert names.redact(want) == want  # idempotent
    assert {f.kind for f in names.scan(text)} <= {"person_name", "email"}


@pytest.mark.parametrize(
    "text",
    [
        "this is great",
        "this is the one i ordered",
        "acme industrial supply this is alex how can i help",  # lower case: no evidence
        "my name is on the account",
        "my name is not on the account",
        "the name is spelled wrong on the invoice",
        "my name is kind of hard to spell",
        "the name on the card is different",
        "what name is the account under",
        "the account is under my wife's name",
        "is the order under your name or your company name",
        "the company name is acme",
        "in the name of the father",
        "it is what it is",
        "it's fine",
        "yeah it is john smith",  # unconfirmed, and nobody asked
        "john smith called yesterday",
        "can i have your first and last name please",
        "what is your name",
        "you can find us at amazon dot a b c",
        "dot a b c",
        "a b c",
        "the u s a",
        "yes y e s",
        "that is correct",
        "no that is not the one i ordered i ordered the larger size",
        "i'm good thanks",
        "my name is [PERSON_NAME]",
    ],
)
def test_ordinary_speech_is_not_a_name(names: Redactor, text: str) -> None:
    assert names.scan(text) == [], names.redact(text)
    assert names.redact_tokens(text.split()) == text.split()


def test_person_name_is_opt_in() -> None:
    text = "my name is john smith, s m i t h"
    assert Redactor().kinds == ["ssn", "phone", "email", "credit_card"]
    assert Redactor().scan(text) == []
    assert Redactor(kinds=["person_name"]).kinds == ["person_name"]
    assert Redactor(kinds=["person_name"]).redact(text) == "my name is [PERSON_NAME], [PERSON_NAME]"
    assert Redactor(kinds=["person_name"], tags={"person_name": "<name>"}).redact("my name is alex") == (
        "my name is <name>"
    )
    assert gcstream.Engine().stats()["pii"] == {}


def test_tokens_keep_their_count(names: Redactor) -> None:
    words = ["yeah", "it", "is", "john", "smith", "that", "is", "Smith", "S", "M", "I", "T", "H"]
    out = names.redact_tokens(words)
    assert out == ["yeah", "it", "is", *[TAG] * 2, "that", "is", *[TAG] * 6]


# --- recall on names the detector was not written for ----------------------------------------------

FAKER_LAST = sorted({n.lower() for n in FakerNames.last_names})
FAKER_FIRST = sorted({n.lower() for n in (*FakerNames.first_names_male, *FakerNames.first_names_female)})


def test_faker_surnames_spelled(names: Redactor) -> None:
    """Every surname spelled after itself is redacted, with the first name before it, except
    two-letter names that are common words and words the detector keeps (none today)."""
    misses = []
    for last in FAKER_LAST:
        text = f"yeah it is john {last} that is {last} {' '.join(last)}"
        if names.redact(text) != "yeah it is [PERSON_NAME] that is [PERSON_NAME]":
            misses.append(last)
    assert len(FAKER_LAST) > 900
    assert misses == [], misses


def test_faker_names_after_a_cue(names: Redactor) -> None:
    misses = []
    for i, first in enumerate(FAKER_FIRST):
        last = FAKER_LAST[(i * 7) % len(FAKER_LAST)]
        text = f"hi my name is {first} {last} and i have a question"
        if names.redact(text) != "hi my name is [PERSON_NAME] and i have a question":
            misses.append((first, last))
    assert len(FAKER_FIRST) > 600
    # A first name that is a common word with a surname that is one too ("guy long") is kept.
    assert len(misses) <= len(FAKER_FIRST) // 100, misses


# --- the shared data -------------------------------------------------------------------------------


def load(folder: Path, rel: str) -> list[dict[str, Any]]:
    path = folder / rel
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_shared_data_has_no_names_but_oscar(testdata: Path, names: Redactor) -> None:
    """Presidio's cases (no PERSON rows among them), the NeMo rows and the number phrases: with
    ``person_name`` on, the only name is the spelled one in "My name is o s c a r." (a "must
    stay words" row for *number* normalisers; it is a name, and with the kind off it stays)."""
    texts = [r["text"] for r in load(testdata, "pii/presidio_cases.jsonl")]
    texts += [r["spoken"] for r in load(testdata, "spoken_pii/nemo_itn_en_cases.jsonl")]
    texts += [r["input"] for r in load(testdata, "spoken_pii/number_normalization_cases.jsonl")]
    assert {r["entity"] for r in load(testdata, "pii/presidio_cases.jsonl")} == {
        "CREDIT_CARD",
        "US_SSN",
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
    }
    named = {t: names.redact(t) for t in texts if any(f.kind == "person_name" for f in names.scan(t))}
    assert named == {"My name is o s c a r.": "My name is [PERSON_NAME]."}
    # and the other kinds are found exactly as without names
    plain = Redactor()
    for t in texts:
        if t not in named:
            assert names.redact(t) == plain.redact(t), t


# --- through the engine ----------------------------------------------------------------------------

SESSION_MS = 1_774_055_376_019
CONVERSATION = "7d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def envelope(
    utterance_id: str, spoken: str, decorated: str, offset_ms: int, channel: str = "EXTERNAL"
) -> str:
    """A transcription notification with one final, 300 ms a word."""

    def timed(text: str) -> list[dict[str, Any]]:
        return [
            {"confidence": 0.9, "offsetMs": offset_ms + 300 * i, "durationMs": 250, "word": w}
            for i, w in enumerate(text.split())
        ]

    body = {
        "eventTime": "2026-03-21T01:10:12.140Z",
        "organizationId": "0b4f6a52-1c7e-4d8a-9f1e-2a6b3c4d5e6f",
        "conversationId": CONVERSATION,
        "communicationId": "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d",
        "sessionStartTimeMs": SESSION_MS,
        "transcriptionStartTimeMs": SESSION_MS - 32,
        "transcripts": [
            {
                "utteranceId": utterance_id,
                "isFinal": True,
                "channel": channel,
                "alternatives": [
                    {
                        "confidence": 0.85,
                        "offsetMs": offset_ms,
                        "durationMs": 300 * len(spoken.split()),
                        "transcript": spoken,
                        "words": timed(spoken),
                        "decoratedTranscript": decorated,
                        "decoratedWords": timed(decorated),
                    }
                ],
            }
        ],
        "status": {"offsetMs": offset_ms, "status": "SESSION_ONGOING"},
    }
    return json.dumps(
        {
            "topicName": f"v2.conversations.{CONVERSATION}.transcription",
            "version": "2",
            "eventBody": body,
        }
    )


def uid(i: int) -> str:
    return f"00000000-0000-4000-8000-{i:012}"


def run(turns: list[tuple[str, str, str]], **engine: Any) -> tuple[list[gcstream.Utterance], gcstream.Engine]:
    """Feed (channel, spoken, decorated) finals 1.5 s apart; return the utterances, in order."""
    eng = gcstream.Engine(pii_kinds=KINDS, **engine)
    records: list[Any] = []
    offset = 10_000
    for i, (channel, spoken, decorated) in enumerate(turns):
        records += eng.feed(
            envelope(uid(i), spoken, decorated, offset, channel),
            received_at_ms=SESSION_MS + offset + 300 * len(spoken.split()) + 500,
        )
        offset += 300 * len(spoken.split()) + 1_500
    records += eng.finish()
    utts = sorted((r for r in records if isinstance(r, gcstream.Utterance)), key=lambda u: u.utterance_id)
    assert len(utts) == len(turns)
    return utts, eng


def fields(u: gcstream.Utterance) -> list[str]:
    return [u.text, u.decorated_text, *(w.word for w in u.words), *(w.word for w in u.decorated_words)]


def leaked(names_: list[str], u: gcstream.Utterance) -> list[str]:
    return [
        f"{n!r} in {f!r}"
        for f in fields(u)
        for n in names_
        if re.search(rf"(?<![a-z]){re.escape(n)}(?![a-z])", f.lower())
    ]


def test_engine_redacts_a_name_given_over_three_utterances() -> None:
    utts, eng = run(
        [
            ("EXTERNAL", "yeah it is john smith", "yeah it is john smith"),
            ("EXTERNAL", "that is", "that is"),
            ("EXTERNAL", "smith s m i t h", "Smith S M I T H"),
        ]
    )
    assert [u.text for u in utts] == ["yeah it is [PERSON_NAME]", "that is", "[PERSON_NAME]"]
    assert [u.decorated_text for u in utts] == ["yeah it is [PERSON_NAME]", "that is", "[PERSON_NAME]"]
    for u in utts:
        assert leaked(["john", "smith", "s m i t h"], u) == []
        assert all(w.duration_ms == 250 for w in (*u.words, *u.decorated_words)), "timings kept"
    assert [w.word for w in utts[2].decorated_words] == [TAG] * 6
    assert {(f.kind, f.field) for f in utts[0].pii} >= {("person_name", "text"), ("person_name", "words")}
    assert eng.stats()["pii"] == {"person_name": 2}


def test_engine_takes_an_answer_to_the_other_partys_request() -> None:
    ask = "sure i can help with that can i have your first and last name please"
    utts, _ = run(
        [("INTERNAL", ask, ask), ("EXTERNAL", "yeah it's jane doe thanks", "yeah it's Jane Doe thanks")]
    )
    assert utts[0].text == ask
    assert utts[1].text == "yeah it's [PERSON_NAME] thanks"
    assert utts[1].decorated_text == "yeah it's [PERSON_NAME] thanks"
    assert leaked(["jane", "doe"], utts[1]) == []
    # Nobody asked: the same words stay.
    utts, _ = run([("EXTERNAL", "yeah it's jane doe thanks", "yeah it's Jane Doe thanks")])
    assert utts[0].text == "yeah it's jane doe thanks"


def test_engine_leaves_names_without_the_kind() -> None:
    eng = gcstream.Engine()
    frame = envelope(uid(0), "yeah it is john smith that is smith s m i t h", "yeah it is john smith", 10_000)
    records = eng.feed(frame, received_at_ms=SESSION_MS + 20_000) + eng.finish()
    (u,) = [r for r in records if isinstance(r, gcstream.Utterance)]
    assert u.text == "yeah it is john smith that is smith s m i t h"


@settings(max_examples=60, deadline=None)
@given(
    first=st.sampled_from(FAKER_FIRST),
    last=st.sampled_from(FAKER_LAST),
    cuts=st.sets(st.integers(1, 11), max_size=2),
)
def test_engine_never_leaks_a_spelled_surname_however_it_is_split(
    first: str, last: str, cuts: set[int]
) -> None:
    words = f"yeah it is {first} {last} that is {last} {' '.join(last)}".split()
    bounds = [0, *sorted(c for c in cuts if c < len(words)), len(words)]
    parts = [" ".join(words[a:b]) for a, b in itertools.pairwise(bounds) if a < b]
    utts, _ = run([("EXTERNAL", p, p) for p in parts])
    problems = [x for u in utts for x in leaked([last, " ".join(last)], u)]
    assert problems == [], parts


def test_simulator_calls_leave_no_name_behind() -> None:
    """Every person name the simulator speaks (its ground truth) is gone from every field."""
    factory = ConversationFactory(11, Directory.build(11, 4, 10), 120.0)
    eng = gcstream.Engine(pii_kinds=KINDS)
    records: list[Any] = []
    truth: list[dict[str, Any]] = []
    for i in range(40):
        conv = factory.build(i, 1_700_000_000_000 + i * 1_000_000)
        for e in conv.emissions:
            records += eng.feed(e.payload, received_at_ms=conv.start_epoch_ms + e.at_ms)
            records += eng.tick(conv.start_epoch_ms + e.at_ms)
            truth += [u.ground_truth("q", "u") for u in e.utterances]
    records += eng.finish()
    utts = {r.utterance_id: r for r in records if isinstance(r, gcstream.Utterance)}
    named = [t for t in truth if any(p["kind"] == "person_name" for p in t["pii"])]
    assert len(named) >= 20
    problems = []
    for t in named:
        values = [p["value"] for p in t["pii"] if p["kind"] == "person_name"]
        values += [" ".join(v) for v in values]
        problems += leaked(values, utts[t["utteranceId"]])
    assert problems == []
    assert eng.stats()["pii"]["person_name"] >= 2 * len(named)


def test_interim_text_masks_a_name_being_spelled() -> None:
    eng = gcstream.Engine(pii_kinds=KINDS)
    frame = json.loads(envelope(uid(0), "that is smith s m i", "that is Smith S M I", 10_000))
    frame["eventBody"]["transcripts"][0]["isFinal"] = False
    records = eng.feed(json.dumps(frame), received_at_ms=SESSION_MS + 20_000)
    partials = [r for r in records if isinstance(r, gcstream.Partial)]
    assert partials, records
    assert all(p.text == "that is [PENDING]" for p in partials), [p.text for p in partials]
