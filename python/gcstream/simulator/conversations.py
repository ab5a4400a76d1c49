"""Realistic, deterministic contact-centre conversations for the simulator.

Everything here is built from the research notes (``research/genesys-real-api.md`` §2 and
``research/peers-genesys-clients.md`` Part A), never from the client side of gcstream:

* agent turns are ``INTERNAL``, customer turns ``EXTERNAL``;
* ``transcript`` is raw lower-case speech with numbers as words ("forty one"), while
  ``decoratedTranscript`` has digits, amounts and e-mail addresses; decoration merges raw words, so
  ``words`` and ``decoratedWords`` often have different token counts;
* words per utterance follow the observed distribution (median 7, p95 34, max 79), which puts the
  compact envelope at a median of about 2 KB and a p99 of about 9 KB;
* each utterance is sent ``1.2``-``7`` s after it ends, so arrival order is not ``offsetMs`` order
  across channels (and, rarely, within one);
* personal data (payment cards, SSNs, phone numbers, e-mail addresses, spelled names) appears on
  both channels, spoken on the raw side and written on the decorated side, and is sometimes split
  over two consecutive utterances; order and invoice numbers are decoys that are *not* PII;
* a status-only message opens the session and repeats every five (simulated) minutes, and a
  status-only ``SESSION_ENDED`` message closes it.

The generator is a pure function of ``(seed, index, duration)``: the same seed always gives the
same conversations, ids and PII values, so tests can compare against ``Simulator.ground_truth``;
the duration only decides which parts of a call are kept (see ``_Script.turns``), never who calls
or what their numbers are.
"""

from __future__ import annotations

import functools
import json
import math
import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

try:  # orjson is optional; it only makes pre-serialisation faster.
    import orjson

    def dumps(obj: Any) -> bytes:
        """Serialise ``obj`` to compact JSON bytes."""
        return orjson.dumps(obj)

except ImportError:  # pragma: no cover - exercised only without orjson

    def dumps(obj: Any) -> bytes:
        """Serialise ``obj`` to compact JSON bytes."""
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


TRANSCRIPTION_TOPIC: Final = "v2.conversations.{id}.transcription"
QUEUE_TOPIC: Final = "v2.routing.queues.{id}.conversations"
USER_TOPIC: Final = "v2.users.{id}.conversations"

# --------------------------------------------------------------------------------------------
# Numbers spoken as words
# --------------------------------------------------------------------------------------------

_ONES: Final = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS: Final = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def number_words(n: int) -> list[str]:
    """Spell a non-negative integer below one million the way a speech engine writes it.

    Args:
        n: The number.

    Returns:
        Lower-case words, e.g. ``[“four”, “hundred”, “eleven”]`` for 411.
    """
    if n < 20:
        return [_ONES[n]]
    if n < 100:
        tens, ones = divmod(n, 10)
        return [_TENS[tens]] + ([_ONES[ones]] if ones else [])
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return [_ONES[hundreds], "hundred"] + (number_words(rest) if rest else [])
    thousands, rest = divmod(n, 1000)
    return number_words(thousands) + ["thousand"] + (number_words(rest) if rest else [])


def spoken_digits(digits: str, rng: random.Random) -> list[str]:
    """Say a digit string digit by digit, as callers do ("oh" for zero, "double five").

    Args:
        digits: Only ``0-9``.
        rng: The conversation's random source.

    Returns:
        The spoken words.
    """
    out: list[str] = []
    i = 0
    while i < len(digits):
        d = digits[i]
        if i + 1 < len(digits) and digits[i + 1] == d and rng.random() < 0.2:
            out += ["double", _ONES[int(d)]]
            i += 2
            continue
        out.append("oh" if d == "0" and rng.random() < 0.4 else _ONES[int(d)])
        i += 1
    return out


# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

COMPANY: Final = "acme industrial supply"
FIRST_NAMES: Final = [
    "john",
    "mary",
    "james",
    "patricia",
    "robert",
    "jennifer",
    "michael",
    "linda",
    "william",
    "elizabeth",
    "david",
    "barbara",
    "richard",
    "susan",
    "joseph",
    "jessica",
    "thomas",
    "sarah",
    "charles",
    "karen",
    "daniel",
    "nancy",
    "matthew",
    "lisa",
    "anthony",
    "betty",
    "mark",
    "sandra",
    "steven",
    "ashley",
    "paul",
    "kimberly",
    "andrew",
    "donna",
    "kevin",
    "emily",
    "brian",
    "michelle",
]
LAST_NAMES: Final = [
    "smith",
    "johnson",
    "williams",
    "brown",
    "jones",
    "garcia",
    "miller",
    "davis",
    "rodriguez",
    "martinez",
    "hernandez",
    "lopez",
    "gonzalez",
    "wilson",
    "anderson",
    "thomas",
    "taylor",
    "moore",
    "jackson",
    "martin",
    "lee",
    "perez",
    "thompson",
    "white",
    "harris",
    "sanchez",
    "clark",
    "ramirez",
    "lewis",
    "robinson",
    "walker",
    "young",
    "allen",
    "king",
    "wright",
    "scott",
    "torres",
    "nguyen",
    "hill",
]
AGENT_NAMES: Final = [
    "alex",
    "jordan",
    "taylor",
    "morgan",
    "casey",
    "riley",
    "jamie",
    "avery",
    "quinn",
    "drew",
    "sam",
    "charlie",
    "dana",
    "robin",
    "lee",
]
MAIL_DOMAINS: Final = ("gmail", "yahoo", "outlook", "hotmail", "icloud", "aol")
PRODUCTS: Final = (
    "safety gloves",
    "hydraulic fittings",
    "ball bearings",
    "pipe clamps",
    "welding rods",
    "air filters",
    "drill bits",
    "cable ties",
    "hex bolts",
    "work boots",
)
FILLER_CUSTOMER: Final = (
    "yeah so i placed the order last week and it still has not shown up",
    "i was told it would ship on monday but the tracking has not moved at all",
    "we really need these for a job site tomorrow morning",
    "okay that makes sense",
    "um let me check real quick",
    "no that is not the one i ordered i ordered the larger size",
    "can you tell me when the next delivery window is",
    "alright yeah that works for me",
    "i think the warehouse sent the wrong part",
    "is there any way to expedite that",
    "sure hold on one second",
    "my boss is asking me about the invoice as well",
    "we usually order these every month so it is kind of a big deal",
    "right right okay",
    "i also wanted to ask about the return policy on the damaged box",
)
FILLER_AGENT: Final = (
    "i understand let me pull that up for you",
    "okay i am looking at the account now",
    "give me just a moment while the system loads",
    "i can see the order here in the system",
    "it looks like it shipped from our central warehouse",
    "i can definitely help you with that today",
    "let me go ahead and check the inventory at your local branch",
    "okay perfect thank you for your patience",
    "i do apologize for the inconvenience",
    "what i can do is send a replacement with overnight shipping",
    "alright i have updated the order for you",
    "is there anything else i can help you with",
    "you should receive a confirmation email shortly",
    "that is covered under our standard return policy",
    "so what happened is the carrier missed the pickup",
)


# --------------------------------------------------------------------------------------------
# Data model
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Segment:
    """A run of raw words and the decorated tokens they become."""

    raw: list[str]
    decorated: list[str]
    pii_kind: str | None = None
    pii_value: str | None = None
    pii_group: str | None = None


@dataclass(slots=True)
class PiiItem:
    """One personal-data value in one utterance (ground truth)."""

    kind: str
    value: str
    spoken: str
    written: str
    group: str | None = None
    part: int = 1
    parts: int = 1

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-able form used in ground truth."""
        d: dict[str, Any] = {
            "kind": self.kind,
            "value": self.value,
            "spoken": self.spoken,
            "written": self.written,
        }
        if self.parts > 1:
            d |= {"group": self.group, "part": self.part, "parts": self.parts}
        return d


@dataclass(slots=True)
class Utterance:
    """One final utterance with everything needed to render any wire format."""

    conversation_id: str
    communication_id: str
    utterance_id: str
    channel: str  # INTERNAL (agent) | EXTERNAL (customer)
    participant_id: str
    text: str
    decorated_text: str
    words: list[dict[str, Any]]
    decorated_words: list[dict[str, Any]]
    confidence: float
    offset_ms: int
    duration_ms: int
    emit_ms: int  # simulated ms after the conversation started
    dialect: str
    pii: list[PiiItem]
    session_start_ms: int = 0

    @property
    def end_ms(self) -> int:
        """Offset of the utterance's end, relative to ``sessionStartTimeMs``."""
        return self.offset_ms + self.duration_ms

    def result(self) -> dict[str, Any]:
        """Render the ``TranscriptionTopicTranscriptResult`` of this utterance."""
        return {
            "utteranceId": self.utterance_id,
            "isFinal": True,
            "channel": self.channel,
            "alternatives": [
                {
                    "confidence": self.confidence,
                    "offsetMs": self.offset_ms,
                    "durationMs": self.duration_ms,
                    "transcript": self.text,
                    "words": self.words,
                    "decoratedTranscript": self.decorated_text,
                    "decoratedWords": self.decorated_words,
                }
            ],
            "engineProvider": "GENESYS",
            "engineId": "r2d2",
            "dialect": self.dialect,
            "agentAssistEnabled": False,
            "voiceTranscriptionEnabled": True,
        }

    def ground_truth(self, queue_id: str, user_id: str) -> dict[str, Any]:
        """Return the ground-truth record tests compare delivery and redaction against."""
        return {
            "conversationId": self.conversation_id,
            "communicationId": self.communication_id,
            "utteranceId": self.utterance_id,
            "channel": self.channel,
            "participantId": self.participant_id,
            "text": self.text,
            "decoratedText": self.decorated_text,
            "pii": [p.to_dict() for p in self.pii],
            "offsetMs": self.offset_ms,
            "durationMs": self.duration_ms,
            "sessionStartTimeMs": self.session_start_ms,
            "confidence": self.confidence,
            "queueId": queue_id,
            "userId": user_id,
        }


@dataclass(slots=True)
class Emission:
    """Something the simulated platform publishes at ``at_ms`` after the conversation began.

    ``payload`` is the compact JSON text of the notification envelope, pre-serialised once.
    """

    at_ms: int
    kind: str  # "transcription" | "status" | "discovery"
    topic: str
    payload: bytes
    utterances: tuple[Utterance, ...] = ()
    status: str | None = None  # SESSION_ONGOING / SESSION_ENDED for status messages
    phase: str | None = None  # "start" / "end" for discovery
    wire: bytes = b""  # the framed payload, filled in once when first published
    also: tuple[tuple[str, bytes], ...] = ()  # more (topic, payload) pairs published with it


@dataclass(slots=True)
class Conversation:
    """A whole call: ids, participants, utterances and its publication schedule."""

    index: int
    conversation_id: str
    communication_id: str
    queue_id: str
    user_id: str
    customer_participant_id: str
    agent_participant_id: str
    acd_participant_id: str
    customer_name: str
    customer_address: str
    correlation_id: str
    start_epoch_ms: int
    session_start_ms: int
    transcription_start_ms: int
    end_ms: int  # simulated ms after start, when the call disconnects
    utterances: list[Utterance] = field(default_factory=list)
    emissions: list[Emission] = field(default_factory=list)

    @property
    def topic(self) -> str:
        """The transcription topic of this conversation."""
        return TRANSCRIPTION_TOPIC.format(id=self.conversation_id)

    def iso(self, rel_ms: int) -> str:
        """Return the ISO-8601 (UTC, ms, ``Z``) time ``rel_ms`` after the call started."""
        return iso_ms(self.start_epoch_ms + rel_ms)


_DAYS: dict[int, str] = {}  # epoch day -> "YYYY-MM-DD", the slow part of formatting


def iso_ms(epoch_ms: int) -> str:
    """Format epoch milliseconds as ``2026-03-21T01:10:12.140Z``."""
    sec, ms = divmod(epoch_ms, 1000)
    day, sod = divmod(sec, 86400)
    date = _DAYS.get(day)
    if date is None:
        if len(_DAYS) > 4096:
            _DAYS.clear()
        date = _DAYS[day] = datetime.fromtimestamp(day * 86400, tz=UTC).strftime("%Y-%m-%d")
    hh, rest = divmod(sod, 3600)
    mm, ss = divmod(rest, 60)
    return f"{date}T{hh:02d}:{mm:02d}:{ss:02d}.{ms:03d}Z"


_UUID4_CLEAR: Final = ~((0xC000 << 48) | (0xF000 << 64))
_UUID4_SET: Final = (0x8000 << 48) | (4 << 76)


def make_uuid(rng: random.Random) -> str:
    """Return a version-4 UUID string drawn from ``rng`` (deterministic).

    The same text as ``str(uuid.UUID(int=rng.getrandbits(128), version=4))``, without the object.
    """
    h = f"{rng.getrandbits(128) & _UUID4_CLEAR | _UUID4_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def luhn_complete(prefix: str) -> str:
    """Append the Luhn check digit to ``prefix``."""
    total = 0
    for i, ch in enumerate(reversed(prefix)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return prefix + str((10 - total % 10) % 10)


# --------------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Directory:
    """Organisation, queues and agents: all ids derived from the seed."""

    organization_id: str
    queue_ids: tuple[str, ...]
    queue_names: tuple[str, ...]
    user_ids: tuple[str, ...]
    user_names: tuple[str, ...]

    @classmethod
    def build(cls, seed: int, queues: int, agents: int) -> Directory:
        """Derive the directory deterministically from ``seed``."""
        rng = random.Random(f"gcstream-sim-directory:{seed}")
        org = make_uuid(rng)
        qids = tuple(make_uuid(rng) for _ in range(queues))
        qnames = tuple(
            f"{n} support" for n in (["sales", "billing", "orders", "returns", "technical"] * 99)[:queues]
        )
        uids = tuple(make_uuid(rng) for _ in range(agents))
        unames = tuple(
            f"{AGENT_NAMES[i % len(AGENT_NAMES)]} {LAST_NAMES[(i * 7) % len(LAST_NAMES)]}"
            for i in range(agents)
        )
        return cls(org, qids, qnames, uids, unames)


class ConversationFactory:
    """Builds conversation ``index`` of a seeded run.

    Args:
        seed: The run's seed.
        directory: Organisation, queue and agent ids.
        duration_s: Target simulated length of a call in seconds, from its start to its
            disconnect; calls last that long on average (the shortest lasts about 15 s).
        status_interval_ms: Period of status-only messages (5 min on the real platform).
    """

    def __init__(
        self,
        seed: int,
        directory: Directory,
        duration_s: float = 180.0,
        status_interval_ms: int = 300_000,
    ) -> None:
        self.seed = seed
        self.directory = directory
        self.duration_ms = max(10_000, int(duration_s * 1000))
        self.status_interval_ms = status_interval_ms

    def build(self, index: int, start_epoch_ms: int) -> Conversation:
        """Generate conversation ``index``; epoch times are anchored at ``start_epoch_ms``.

        Args:
            index: Position of the conversation in the run (0, 1, ...).
            start_epoch_ms: Wall-clock epoch ms at which the call is considered to start.

        Returns:
            The conversation with its utterances and publication schedule, sorted by time.
        """
        rng = random.Random(f"gcstream-sim-conversation:{self.seed}:{index}")
        d = self.directory
        qi = rng.randrange(len(d.queue_ids))
        ui = rng.randrange(len(d.user_ids))
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        conv = Conversation(
            index=index,
            conversation_id=make_uuid(rng),
            communication_id=make_uuid(rng),
            queue_id=d.queue_ids[qi],
            user_id=d.user_ids[ui],
            customer_participant_id=make_uuid(rng),
            agent_participant_id=make_uuid(rng),
            acd_participant_id=make_uuid(rng),
            customer_name=f"{first} {last}",
            customer_address=f"+1{rng.randrange(201, 990)}555{rng.randrange(100, 200):04d}",
            correlation_id=make_uuid(rng),
            start_epoch_ms=start_epoch_ms,
            session_start_ms=0,
            transcription_start_ms=0,
            end_ms=0,
        )
        session_lead_ms = rng.randrange(1500, 4000)  # queue + agent connect before transcription
        conv.session_start_ms = start_epoch_ms + session_lead_ms
        conv.transcription_start_ms = conv.session_start_ms - rng.randrange(29, 38)
        dialect = "en-us" if rng.random() < 0.11 else "en-US"
        agent_name = d.user_names[ui].split()[0]
        script = _Script(rng, first, last, agent_name)
        turns = script.turns(self.duration_ms)

        cursor = rng.randrange(600, 1500)
        getrandbits = rng.getrandbits
        for speaker, segments in turns:
            raw_count = sum(len(s.raw) for s in segments)
            # sum(rng.randrange(180, 420) for each word), drawing the very same bits, inlined
            # (randrange(180, 420) is 180 + a draw of 8 bits below 240, redrawn if >= 240).
            dur = 180 * raw_count
            for _ in range(raw_count):
                r = getrandbits(8)
                while r >= 240:
                    r = getrandbits(8)
                dur += r
            dur += rng.randrange(0, 300)
            offset = cursor
            utt = _render_utterance(rng, conv, speaker, segments, offset, max(dur, 240), dialect)
            conv.utterances.append(utt)
            gap = rng.randrange(150, 1600)
            if rng.random() < 0.3:  # talk-over: next turn starts before this one ends
                gap = -rng.randrange(100, max(200, min(2500, utt.duration_ms)))
            cursor = offset + utt.duration_ms + gap
        # Latency: lognormal around 1.6 s, clamped to the observed 1.2-7 s.
        for u in conv.utterances:
            lat = int(min(7000, max(1200, rng.lognormvariate(math.log(1650), 0.55))))
            u.emit_ms = session_lead_ms + u.end_ms + lat
            u.session_start_ms = conv.session_start_ms
        mark_split_parts(conv)
        last_end = max((u.end_ms for u in conv.utterances), default=0)
        last_emit = max((u.emit_ms for u in conv.utterances), default=0)
        conv.end_ms = max(session_lead_ms + last_end + rng.randrange(1500, 4000), last_emit + 100)
        self._schedule(rng, conv, session_lead_ms)
        return conv

    # -- publication schedule -------------------------------------------------------------

    def _schedule(self, rng: random.Random, conv: Conversation, lead_ms: int) -> None:
        ems: list[Emission] = []
        ems.append(self._discovery(conv, 0, "start"))
        # Status-only message at session start: no "transcripts" key at all.
        ems.append(self._status(conv, lead_ms + rng.randrange(80, 400), 0, "SESSION_ONGOING", None))
        t = self.status_interval_ms
        while lead_ms + t < conv.end_ms - 1000:
            # Periodic status-only messages carry an empty array (harsher than absent only).
            ems.append(self._status(conv, lead_ms + t, t, "SESSION_ONGOING", []))
            t += self.status_interval_ms
        utts = sorted(conv.utterances, key=lambda u: u.emit_ms)
        i = 0
        while i < len(utts):
            group = [utts[i]]
            # The docs say a message can batch several transcripts; real captures show one.
            while (
                i + len(group) < len(utts)
                and utts[i + len(group)].emit_ms - group[0].emit_ms < 400
                and rng.random() < 0.3
                and len(group) < 3
            ):
                group.append(utts[i + len(group)])
            ems.append(self._transcription(conv, group))
            i += len(group)
        final_status_ms = conv.end_ms + rng.randrange(200, 1500)
        ems.append(self._status(conv, final_status_ms, conv.end_ms - lead_ms, "SESSION_ENDED", None))
        ems.append(self._discovery(conv, conv.end_ms, "end"))
        ems.sort(key=lambda e: e.at_ms)
        conv.emissions = ems

    def _envelope(self, conv: Conversation, topic: str, body: dict[str, Any]) -> bytes:
        return dumps(
            {
                "topicName": topic,
                "version": "2",
                "eventBody": body,
                "metadata": {"CorrelationId": conv.correlation_id},
            }
        )

    def _body_head(self, conv: Conversation, at_ms: int) -> dict[str, Any]:
        return {
            "eventTime": conv.iso(at_ms),
            "organizationId": self.directory.organization_id,
            "conversationId": conv.conversation_id,
            "communicationId": conv.communication_id,
            "sessionStartTimeMs": conv.session_start_ms,
            "transcriptionStartTimeMs": conv.transcription_start_ms,
        }

    def _transcription(self, conv: Conversation, group: list[Utterance]) -> Emission:
        if len(group) == 1:
            u = group[0]
            at, end, transcripts = u.emit_ms, u.end_ms, [u.result()]
        else:
            at = max(u.emit_ms for u in group)
            end = max(u.end_ms for u in group)
            transcripts = [u.result() for u in group]
        body = self._body_head(conv, at)
        body["transcripts"] = transcripts
        body["status"] = {"offsetMs": end, "status": "SESSION_ONGOING"}
        topic = conv.topic
        return Emission(at, "transcription", topic, self._envelope(conv, topic, body), tuple(group))

    def _status(
        self,
        conv: Conversation,
        at: int,
        offset_ms: int,
        status: str,
        transcripts: list[Any] | None,
    ) -> Emission:
        body = self._body_head(conv, at)
        if transcripts is not None:
            body["transcripts"] = transcripts
        body["status"] = {"offsetMs": max(0, offset_ms), "status": status}
        return Emission(at, "status", conv.topic, self._envelope(conv, conv.topic, body), status=status)

    def _discovery(self, conv: Conversation, at: int, phase: str) -> Emission:
        # One emission carries the queue-topic payload; the user-topic one is rendered on demand
        # from the same conversation (see discovery_payload).
        topic = QUEUE_TOPIC.format(id=conv.queue_id)
        payload = self._envelope(conv, topic, discovery_body(conv, at, phase, queue=True))
        user_topic = USER_TOPIC.format(id=conv.user_id)
        user_payload = self._envelope(conv, user_topic, discovery_body(conv, at, phase, queue=False))
        return Emission(at, "discovery", topic, payload, phase=phase, also=((user_topic, user_payload),))


@functools.lru_cache(maxsize=4096)
def leg_id(conversation_id: str, purpose: str) -> str:
    """The call id of the ``acd`` or ``agent`` leg of a conversation (a UUID-5 of its id)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{conversation_id}/{purpose}"))


def discovery_body(conv: Conversation, at_ms: int, phase: str, *, queue: bool) -> dict[str, Any]:
    """Build a ``ConversationEventTopicConversation``-shaped body (queue or user topic).

    Args:
        conv: The conversation.
        at_ms: Simulated ms after the call started.
        phase: ``"start"`` (all connected) or ``"end"`` (all disconnected).
        queue: True for the queue topic (``QueueConversationEventTopicConversation``).

    Returns:
        The eventBody.
    """
    start = conv.iso(0)
    ended = phase == "end"
    end = conv.iso(at_ms) if ended else None
    state = "disconnected" if ended else "connected"

    def call(cid: str, connected_at: str, *, direction: str = "inbound") -> dict[str, Any]:
        c: dict[str, Any] = {
            "id": cid,
            "state": state,
            "recording": True,
            "recordingState": "active" if not ended else "none",
            "muted": False,
            "confined": False,
            "held": False,
            "direction": direction,
            "connectedTime": connected_at,
        }
        if ended:
            c["disconnectedTime"] = end
            c["disconnectType"] = "endpoint"
        return c

    def participant(pid: str, purpose: str, calls: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        p: dict[str, Any] = {"id": pid, "connectedTime": start, "purpose": purpose}
        if ended:
            p["endTime"] = end
        p.update(extra)
        p["calls"] = calls
        return p

    body: dict[str, Any] = {
        "id": conv.conversation_id,
        "maxParticipants": 3,
        "participants": [
            participant(
                conv.customer_participant_id,
                "customer",
                [call(conv.communication_id, start)],
                address=f"tel:{conv.customer_address}",
                name=conv.customer_name.title(),
            ),
            participant(
                conv.acd_participant_id,
                "acd",
                [call(leg_id(conv.conversation_id, "acd"), start)],
                queueId=conv.queue_id,
            ),
            participant(
                conv.agent_participant_id,
                "agent",
                [call(leg_id(conv.conversation_id, "agent"), start)],
                userId=conv.user_id,
                queueId=conv.queue_id,
            ),
        ],
        "recordingState": "active" if not ended else "none",
    }
    if not queue:
        body["divisions"] = []
    return body


# --------------------------------------------------------------------------------------------
# Script: who says what
# --------------------------------------------------------------------------------------------

_Turn = tuple[str, list[Segment]]  # ("agent"|"customer", segments)


def _plain(text: str) -> Segment:
    words = text.split()
    return Segment(list(words), list(words))


class _Script:
    """Writes a call as turns of segments, inserting PII and decoys."""

    def __init__(self, rng: random.Random, first: str, last: str, agent: str) -> None:
        self.rng = rng
        self.first = first
        self.last = last
        self.agent = agent
        self.groups = 0

    def _group(self) -> str:
        self.groups += 1
        return f"g{self.groups}"

    # PII values ------------------------------------------------------------------------

    def card(self) -> str:
        prefix = self.rng.choice(["4", "51", "52", "53", "54", "55", "37", "6011"])
        length = 15 if prefix == "37" else 16
        body = prefix + "".join(str(self.rng.randrange(10)) for _ in range(length - 1 - len(prefix)))
        return luhn_complete(body)

    def ssn(self) -> str:
        area = self.rng.choice([a for a in range(1, 900) if a != 666])
        return f"{area:03d}-{self.rng.randrange(1, 100):02d}-{self.rng.randrange(1, 10000):04d}"

    def phone(self) -> str:
        return f"{self.rng.randrange(201, 990)}-555-{self.rng.randrange(100, 200):04d}"

    def email(self) -> tuple[str, list[str]]:
        num = str(self.rng.randrange(1, 99)) if self.rng.random() < 0.5 else ""
        sep = self.rng.choice([".", "", "_"])
        local = f"{self.first}{sep}{self.last}{num}"
        domain = self.rng.choice(MAIL_DOMAINS)
        spoken: list[str] = [self.first]
        if sep == ".":
            spoken.append("dot")
        elif sep == "_":
            spoken.append("underscore")
        spoken.append(self.last)
        if num:
            spoken += spoken_digits(num, self.rng)
        spoken += ["at", domain, "dot", "com"]
        return f"{local}@{domain}.com", spoken

    # PII segments ----------------------------------------------------------------------

    def card_segments(self, value: str, split: bool) -> list[list[Segment]]:
        """Spoken card number; decorated in groups of four. Optionally split in two turns."""
        groups = [value[i : i + 4] for i in range(0, len(value), 4)]
        parts = [groups] if not split else [groups[:2], groups[2:]]
        gid = self._group() if split else None
        out: list[list[Segment]] = []
        for part in parts:
            raw: list[str] = []
            for g in part:
                raw += spoken_digits(g, self.rng)
            seg = Segment(raw, list(part), "credit_card", value, gid)
            out.append([seg])
        return out

    def digits_segment(self, kind: str, value: str) -> Segment:
        digits = value.replace("-", "")
        return Segment(spoken_digits(digits, self.rng), [value], kind, value)

    def name_segment(self) -> Segment:
        letters = list(self.last)
        return Segment(
            [self.last, *letters],
            [self.last.title(), *[c.upper() for c in letters]],
            "person_name",
            self.last,
        )

    # Decoys (not PII) ------------------------------------------------------------------

    def order_number(self) -> Segment:
        n = "".join(str(self.rng.randrange(10)) for _ in range(self.rng.choice([6, 7, 8])))
        return Segment(spoken_digits(n, self.rng), [n])

    def amount(self) -> Segment:
        dollars, cents = self.rng.randrange(5, 2000), self.rng.randrange(0, 100)
        raw = [*number_words(dollars), "dollars"]
        if cents:
            raw += ["and", *number_words(cents), "cents"]
        return Segment(raw, [f"${dollars:,}.{cents:02d}"])

    def count(self) -> Segment:
        n = self.rng.randrange(2, 500)
        return Segment(number_words(n), [str(n)])

    # Turns -----------------------------------------------------------------------------

    def filler(self, speaker: str, target_words: int) -> list[Segment]:
        pool = FILLER_AGENT if speaker == "agent" else FILLER_CUSTOMER
        segs: list[Segment] = []
        n = 0
        while n < target_words:
            r = self.rng.random()
            if r < 0.12:
                seg = _plain("the order number is")
                segs.append(seg)
                segs.append(self.order_number())
            elif r < 0.22:
                segs.append(_plain("the total comes to"))
                segs.append(self.amount())
            elif r < 0.32:
                segs.append(_plain(f"we need {self.rng.choice(['about', 'maybe', 'exactly'])}"))
                segs.append(self.count())
                segs.append(_plain(self.rng.choice(PRODUCTS)))
            else:
                sentence = self.rng.choice(pool).split()
                room = target_words - n
                if room < len(sentence):
                    sentence = sentence[: max(1, room)]
                segs.append(Segment(sentence, list(sentence)))
            n = sum(len(s.raw) for s in segs)
        while n > 79 and len(segs) > 1:  # the longest real utterance had 79 words
            n -= len(segs.pop().raw)
        return segs

    def target_words(self) -> int:
        return max(1, min(79, round(self.rng.lognormvariate(math.log(5), 1.1))))

    def turns(self, duration_ms: int) -> list[_Turn]:
        """Write the call as turns, sized so that the call lasts about ``duration_ms``.

        A call is made of blocks, in this order: greeting, the caller's reason, name (spelled),
        phone number, e-mail address, SSN, product talk, card payment, goodbye; the agent reads
        some values back. Which values a call has, and what they are, is drawn first, so that a
        seed gives the same people and values at any duration. Blocks are then kept, in order of
        priority, while the time budget lasts (see :func:`call_ms`): greeting, reason and goodbye
        in their short forms; phone, e-mail, SSN, card and name; the read-backs; the long forms
        of greeting and goodbye. Product talk fills what is left. The shortest call (greeting,
        reason, goodbye) lasts about 15 s.
        """
        rng = self.rng
        a, c = "agent", "customer"
        reason: _Turn = (c, self.filler(c, self.target_words() + 2))
        blocks: dict[str, list[_Turn]] = {
            "name": [
                (a, [_plain("sure i can help with that can i have your first and last name please")]),
                (c, [_plain(f"yeah it is {self.first} {self.last}"), _plain("that is"), self.name_segment()]),
            ]
        }
        phone = self.phone()
        blocks["phone"] = [
            (a, [_plain("thank you and what is the best phone number to reach you")]),
            (c, [_plain("it is"), self.digits_segment("phone", phone)]),
        ]
        blocks["phone_readback"] = [
            (a, [_plain("i have"), self.digits_segment("phone", phone), _plain("is that correct")]),
            (c, [_plain("yes that is right")]),
        ]
        if rng.random() < 0.6:
            email, spoken = self.email()
            ask: _Turn = (a, [_plain("and can i get the email address on the account")])
            if rng.random() < 0.35:  # split: "john dot smith" / "at gmail dot com"
                at = spoken.index("at")
                gid = self._group()
                local, domain = email.split("@")
                blocks["email"] = [
                    ask,
                    (c, [_plain("sure it is"), Segment(spoken[:at], [local], "email", email, gid)]),
                    (c, [Segment(spoken[at:], ["@" + domain], "email", email, gid)]),
                ]
            else:
                blocks["email"] = [ask, (c, [_plain("sure it is"), Segment(spoken, [email], "email", email)])]
            blocks["email_readback"] = [
                (
                    a,
                    [
                        _plain("okay so i have"),
                        Segment(list(spoken), [email], "email", email),
                        _plain("perfect"),
                    ],
                )
            ]
        if rng.random() < 0.3:
            ssn = self.ssn()
            blocks["ssn"] = [
                (a, [_plain("for verification can you give me your social security number")]),
                (c, [_plain("yeah my social is"), self.digits_segment("ssn", ssn)]),
            ]
        if rng.random() < 0.4:
            card = self.card()
            parts = self.card_segments(card, rng.random() < 0.4)
            blocks["card"] = [
                (a, [_plain("okay i can take the payment now what card would you like to use")]),
                (c, [_plain("it is a visa the number is"), *parts[0]]),
                *[(c, part[:]) for part in parts[1:]],
                (a, [_plain("and the expiration date")]),
                (c, [_plain("oh four twenty seven")]),
            ]
            if rng.random() < 0.5:
                groups = [card[i : i + 4] for i in range(0, len(card), 4)]
                raw: list[str] = []
                for g in groups:
                    raw += spoken_digits(g, self.rng)
                blocks["card_readback"] = [
                    (a, [_plain("let me read that back"), Segment(raw, groups, "credit_card", card)])
                ]
        hello = f"thank you for calling {COMPANY} my name is {self.agent} how can i help you today"
        greeting = {
            "short": [(a, [_plain(f"{COMPANY} this is {self.agent} how can i help")])],
            "long": [(a, [_plain(hello)])],
        }
        goodbye = {
            "short": [(a, [_plain("alright you are all set thanks for calling")])],
            "long": [
                (a, [_plain("is there anything else i can help you with today")]),
                (c, [_plain("no that is everything thank you so much")]),
                (a, [_plain(f"thank you for calling {COMPANY} have a great day")]),
            ],
        }
        # Keep what fits, by priority.
        left = duration_ms - call_ms([*greeting["short"], reason, *goodbye["short"]])
        for name in (
            "phone",
            "email",
            "ssn",
            "card",
            "name",
            "phone_readback",
            "email_readback",
            "card_readback",
        ):
            cost = call_ms(blocks.get(name, ()), overhead=False)
            if name in blocks and cost <= left:
                left -= cost
            else:
                blocks.pop(name, None)
        form: dict[str, str] = {}
        for part, forms in (("greeting", greeting), ("goodbye", goodbye)):
            more = call_ms(forms["long"], overhead=False) - call_ms(forms["short"], overhead=False)
            form[part] = "long" if more <= left else "short"
            if form[part] == "long":
                left -= more
        # The middle of the call: product talk, as long as the rest of the budget allows (the
        # last turn is kept if at least half of it fits, so calls are not always short).
        middle: list[_Turn] = []
        speaker = c
        while left > 0:
            turn = (speaker, self.filler(speaker, self.target_words()))
            cost = call_ms([turn], overhead=False)
            if cost / 2 > left:
                break
            middle.append(turn)
            left -= cost
            speaker = a if speaker == c else c
        t: list[_Turn] = [*greeting[form["greeting"]], reason]
        for name in ("name", "phone", "phone_readback", "email", "email_readback", "ssn"):
            t += blocks.get(name, [])
        t += middle
        for name in ("card", "card_readback"):
            t += blocks.get(name, [])
        return t + goodbye[form["goodbye"]]


# What ConversationFactory.build adds around and between turns, as expected values: call_ms sizes
# a call with them, so that it lasts about the requested duration.
_WORD_MS: Final = (180 + 419) / 2  # each word: randrange(180, 420)
_UTTERANCE_MS: Final = 299 / 2  # and each utterance: randrange(0, 300) more
_PAUSE_MS: Final = (150 + 1599) / 2  # the next turn starts randrange(150, 1600) later...
_OVERLAP_P: Final = 0.3  # ...or, 30 % of the time, randrange(100, min(2500, length)) before its end
_CALL_OVERHEAD_MS: Final = 6000
"""Connecting before the first words (randrange(1500, 4000) + randrange(600, 1500)) and hanging up
after the last: randrange(1500, 4000), or until its transcript was sent (1.2-7 s), if later; less
the pause after the last turn, which is not spoken. Measured: see tests/simulator."""


def call_ms(turns: Iterable[_Turn], *, overhead: bool = True) -> float:
    """The expected length of a call made of ``turns`` (or, without ``overhead``, the expected
    time these turns add to a call), in ms."""
    total = _CALL_OVERHEAD_MS if overhead else 0.0
    for _, segments in turns:
        spoken = max(240.0, _WORD_MS * sum(len(s.raw) for s in segments) + _UTTERANCE_MS)
        overlap = (100 + max(200.0, min(2500.0, spoken))) / 2
        total += spoken + (1 - _OVERLAP_P) * _PAUSE_MS - _OVERLAP_P * overlap
    return total


_WORD_SPAN: Final = 0.9 - 0.45  # rng.uniform(a, b) is a + (b - a) * rng.random()
_WORD_CONF: Final = 0.99 - 0.55
_DECO_CONF: Final = 0.99 - 0.6
# round(x, 2) for 0 <= x <= 1 is HUNDREDTHS[k], k the integer nearest to 100 * x, unless 100 * x
# is within float error of a half (then round() decides, half to even on the exact value).
_HUNDREDTHS: Final = tuple(k / 100 for k in range(101))
_HALF: Final = 0.4999999


def _render_utterance(  # noqa: PLR0917 - private helper, called once
    rng: random.Random,
    conv: Conversation,
    speaker: str,
    segments: list[Segment],
    offset_ms: int,
    duration_ms: int,
    dialect: str,
) -> Utterance:
    # The hot path of generation: the same draws, in the same order, as the straightforward
    # rng.uniform() code, with the calls inlined (see _WORD_SPAN).
    rnd = rng.random
    raw_words = [w for s in segments for w in s.raw]
    # Per-word timings spread over the utterance, in order, never overlapping.
    n = len(raw_words)
    slot = duration_ms / n
    hundredths, half, span_w, conf_w = _HUNDREDTHS, _HALF, _WORD_SPAN, _WORD_CONF
    words: list[dict[str, Any]] = []
    add = words.append
    for i, w in enumerate(raw_words):
        dur = int(slot * (0.45 + span_w * rnd())) // 20 * 20
        x = 0.55 + conf_w * rnd()
        c = x * 100.0
        q = int(c + 0.5)
        add(
            {
                "confidence": hundredths[q] if -half < c - q < half else round(x, 2),
                "offsetMs": offset_ms + int(i * slot),
                "durationMs": dur if dur > 40 else 40,
                "word": w,
            }
        )
    decorated: list[dict[str, Any]] = []
    add = decorated.append
    pii: list[PiiItem] = []
    wi = 0
    for s in segments:
        k = len(s.raw)
        toks = s.decorated
        if toks == s.raw:  # plain words: the decorated token is a copy of the raw one
            decorated += map(dict.copy, words[wi : wi + k])
        elif len(toks) == k:
            for raw_word, tok in zip(words[wi : wi + k], toks, strict=True):
                add({**raw_word, "word": tok})
        else:
            seg_start = words[wi]["offsetMs"]
            last = words[wi + k - 1]
            step = (last["offsetMs"] + last["durationMs"] - seg_start) / len(toks)
            tok_dur = max(40, int(step) - 20)
            for j, tok in enumerate(toks):
                x = 0.6 + _DECO_CONF * rnd()
                c = x * 100.0
                q = int(c + 0.5)
                add(
                    {
                        "confidence": hundredths[q] if -half < c - q < half else round(x, 2),
                        "offsetMs": seg_start + int(j * step),
                        "durationMs": tok_dur,
                        "word": tok,
                    }
                )
        if s.pii_kind is not None and s.pii_value is not None:
            item = PiiItem(s.pii_kind, s.pii_value, " ".join(s.raw), " ".join(toks))
            if s.pii_group is not None:
                item.group = s.pii_group
            pii.append(item)
        wi += k
    channel = "INTERNAL" if speaker == "agent" else "EXTERNAL"
    return Utterance(
        conversation_id=conv.conversation_id,
        communication_id=conv.communication_id,
        utterance_id=make_uuid(rng),
        channel=channel,
        participant_id=conv.agent_participant_id if speaker == "agent" else conv.customer_participant_id,
        text=" ".join(raw_words),
        decorated_text=" ".join([t for s in segments for t in s.decorated]),
        words=words,
        decorated_words=decorated,
        confidence=round(rng.uniform(0.62, 0.97), 4),
        offset_ms=offset_ms,
        duration_ms=duration_ms,
        emit_ms=0,
        dialect=dialect,
        pii=pii,
    )


def mark_split_parts(conv: Conversation) -> None:
    """Number the parts of PII values split over consecutive utterances (``part``/``parts``)."""
    seen: dict[str, list[PiiItem]] = {}
    for u in conv.utterances:
        for p in u.pii:
            if p.group is not None:
                seen.setdefault(p.group, []).append(p)
    for items in seen.values():
        for i, p in enumerate(items, 1):
            p.part, p.parts = i, len(items)
