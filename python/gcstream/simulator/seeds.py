"""Live peers for the seed tutorials' wire formats (DESIGN §5), fed by the same conversations.

The seed tutorials describe endpoints that the real platform does not have; the simulator serves
them anyway so that every wire format the engine decodes has a live peer. Paths, handshakes and
payloads follow the seeds:

==========================  ====  ===========================================================
format                      seed  how to connect
==========================  ====  ===========================================================
``interaction``             000   WS ``/api/v2/analytics/conversations/transcriptions`` (Bearer
                                  header); send ``{"type":"subscribe","interactionId":ID,...}``,
                                  get ``{"type":"subscribed"}``; events ``type:"transcription"``
``media``                   001   ``POST /api/v2/media/transcriptions`` ``{mediaSessionId,...}``
                                  (201) activates a media session (= communication id); WS
                                  ``/api/v2/websocket``, send ``{"action":"subscribe","topics":
                                  ["conversation:transcription"],"filter":{"mediaSessionId":ID}}``;
                                  frames are JSON arrays with ``eventSequence``
``segments``                002   WS ``/api/v2/interactions/transcription`` (Bearer); send
                                  ``{"type":"subscribe","id":CONV,"participantId":P,...}``
``fragments``               003   WS ``/api/v2/media/conversations/transcripts?conversationId=ID``
                                  (Bearer); utterances arrive as text pieces to concatenate
``conversation-events``     004   WS ``/api/v2/analytics/conversations/details/stream?access_token=T``;
                                  every call's events, documents split across frames
==========================  ====  ===========================================================

Conversation and participant ids are those of the notifications feed (see ground truth or the
analytics query), so the same call can be followed in every format.
"""

from __future__ import annotations

import json
import random
import time
from typing import TYPE_CHECKING, Any, Final

from aiohttp import WSMsgType, web

from .conversations import Conversation, Emission, Utterance, dumps, iso_ms
from .wire import SocketSession

if TYPE_CHECKING:
    from .app import Platform, Token

SUPPORTED_LANGUAGES: Final = ("en-US", "es-ES", "fr-FR", "de-DE")


def add_routes(platform: Platform, app: web.Application) -> None:
    """Register the seed-format endpoints on ``app``."""
    seeds = _Seeds(platform)
    r = app.router
    r.add_get("/api/v2/analytics/conversations/transcriptions", seeds.interaction)
    r.add_post("/api/v2/media/transcriptions", seeds.media_activate)
    r.add_get("/api/v2/websocket", seeds.media)
    r.add_get("/api/v2/interactions/transcription", seeds.segments)
    r.add_get("/api/v2/media/conversations/transcripts", seeds.fragments)
    r.add_get("/api/v2/analytics/conversations/details/stream", seeds.conversation_events)


class _Seeds:
    def __init__(self, platform: Platform) -> None:
        self.p = platform
        self.rng = random.Random(f"gcstream-sim-seeds:{platform.config.seed}")

    # -- helpers ------------------------------------------------------------------------

    def _token(self, request: web.Request, *, query: bool = False) -> Token | None:
        if query:
            value = request.query.get("access_token", "")
            tok = self.p.tokens.get(value)
        else:
            return self.p._bearer(request)
        return tok if tok is not None and tok.valid(time.monotonic()) else None

    async def _open(self, request: web.Request, kind: str) -> tuple[web.WebSocketResponse, SocketSession]:
        ws = web.WebSocketResponse(compress=False, autoping=True, max_msg_size=1 << 20)
        await ws.prepare(request)
        s = self.p.new_session(ws, request, kind, None)
        self.p.seed_sessions.add(s)
        return ws, s

    async def _serve(
        self, ws: web.WebSocketResponse, s: SocketSession, on_text: Any, listener: Any
    ) -> web.WebSocketResponse:
        self.p.listeners.add(listener)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    s.stats.frames_received += 1
                    try:
                        data = json.loads(msg.data)
                    except ValueError:
                        s.send(dumps({"type": "error", "message": "Invalid JSON", "error": "Invalid JSON"}))
                        continue
                    on_text(data)
                elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
        finally:
            self.p.listeners.discard(listener)
            self.p.seed_sessions.discard(s)
            s.closed = True
            s._finish()
            self.p.stats.sockets_closed += 1
        return ws

    def _live(self, conversation_id: str) -> Conversation | None:
        rec = self.p.calls.get(conversation_id)
        if rec is None or rec.ended_ms is not None:
            return None
        return rec.conversation

    def _partial(self, u: Utterance) -> str | None:
        words = u.decorated_text.split()
        if len(words) < 4 or self.rng.random() < 0.5:
            return None
        return " ".join(words[: len(words) // 2])

    # -- 000 interaction ----------------------------------------------------------------

    async def interaction(self, request: web.Request) -> web.StreamResponse:
        if self._token(request) is None:
            return web.json_response({"type": "error", "message": "Unauthorized"}, status=401)
        ws, s = await self._open(request, "interaction")
        wanted: set[str] = set()

        def on_text(msg: Any) -> None:
            if (
                not isinstance(msg, dict)
                or msg.get("type") != "subscribe"
                or not isinstance(msg.get("interactionId"), str)
            ):
                s.send(dumps({"type": "error", "message": "Invalid subscribe payload"}))
                return
            iid = msg["interactionId"]
            lang = msg.get("language", "en-US")
            if lang not in SUPPORTED_LANGUAGES:
                s.send(dumps({"type": "error", "message": f"Unsupported language {lang}"}))
                return
            if self._live(iid) is None:
                s.send(dumps({"type": "error", "message": f"Interaction {iid} is not active"}))
                return
            wanted.add(iid)
            s.send(dumps({"type": "subscribed", "interactionId": iid}))

        def listener(conv: Conversation, em: Emission) -> None:
            if conv.conversation_id not in wanted or not em.utterances:
                return
            for u in em.utterances:
                ts = iso_ms(u.session_start_ms + u.offset_ms)
                base = {"type": "transcription", "interactionId": conv.conversation_id, "mediaTimestamp": ts}
                partial = self._partial(u)
                if partial is not None:
                    s.send(
                        dumps(
                            base
                            | {"text": partial, "confidence": round(u.confidence * 0.9, 4), "final": False}
                        ),
                        is_message=True,
                    )
                s.send(
                    dumps(
                        base
                        | {
                            "text": u.decorated_text,
                            "confidence": u.confidence,
                            "final": True,
                            "mediaType": "audio/l16;rate=8000",
                        }
                    ),
                    is_message=True,
                )
            if em.status == "SESSION_ENDED":
                wanted.discard(conv.conversation_id)

        return await self._serve(ws, s, on_text, listener)

    # -- 001 media ----------------------------------------------------------------------

    async def media_activate(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read() or b"null")
            msid = body["mediaSessionId"]
        except (ValueError, KeyError, TypeError):
            return _error(400, "bad.request", "mediaSessionId is required")
        lang = body.get("language", "en-US")
        if lang not in SUPPORTED_LANGUAGES:
            return _error(400, "bad.request", f"Language {lang} is not supported")
        live = [
            r.conversation
            for r in self.p.calls.values()
            if r.ended_ms is None and r.conversation.communication_id == msid
        ]
        if not live:
            return _error(404, "not.found", f"Media session {msid} not found")
        act = {
            "id": f"trans-{self.rng.randrange(10**8, 10**9)}",
            "status": "active",
            "mediaSessionId": msid,
            "createdTime": iso_ms(int(time.time() * 1000)),
        }
        self.p.media_activations[msid] = act
        return web.json_response(act, status=201)

    async def media(self, request: web.Request) -> web.StreamResponse:
        ws, s = await self._open(request, "media")
        sessions: dict[str, int] = {}  # mediaSessionId -> last eventSequence

        def on_text(msg: Any) -> None:
            flt = msg.get("filter") if isinstance(msg, dict) else None
            if (
                not isinstance(msg, dict)
                or msg.get("action") != "subscribe"
                or "conversation:transcription" not in (msg.get("topics") or [])
                or not isinstance(flt, dict)
                or not isinstance(flt.get("mediaSessionId"), str)
            ):
                s.send(dumps([{"eventType": "error", "message": "Invalid subscription"}]))
                return
            sessions.setdefault(flt["mediaSessionId"], 0)  # the seed expects no acknowledgment

        def listener(conv: Conversation, em: Emission) -> None:
            msid = conv.communication_id
            if msid not in sessions or msid not in self.p.media_activations or not em.utterances:
                return
            batch: list[dict[str, Any]] = []
            for u in em.utterances:
                ts = iso_ms(u.session_start_ms + u.end_ms)
                partial = self._partial(u)
                if partial is not None:
                    sessions[msid] += 1
                    batch.append(
                        {
                            "eventType": "transcription",
                            "eventSequence": sessions[msid],
                            "mediaSessionId": msid,
                            "transcript": partial,
                            "isPartial": True,
                            "timestamp": ts,
                        }
                    )
                sessions[msid] += 1
                batch.append(
                    {
                        "eventType": "transcription",
                        "eventSequence": sessions[msid],
                        "mediaSessionId": msid,
                        "transcript": u.text,
                        "isPartial": False,
                        "timestamp": ts,
                    }
                )
            s.send(dumps(batch), is_message=True)

        return await self._serve(ws, s, on_text, listener)

    # -- 002 segments -------------------------------------------------------------------

    async def segments(self, request: web.Request) -> web.StreamResponse:
        if self._token(request) is None:
            return web.json_response({"type": "error", "error": "Unauthorized"}, status=401)
        ws, s = await self._open(request, "segments")
        wanted: dict[str, str] = {}  # participantId -> conversationId

        def on_text(msg: Any) -> None:
            if (
                not isinstance(msg, dict)
                or msg.get("type") != "subscribe"
                or not isinstance(msg.get("id"), str)
                or not isinstance(msg.get("participantId"), str)
            ):
                s.send(dumps({"type": "error", "error": "Bad Request: id and participantId are required"}))
                return
            conv = self._live(msg["id"])
            pid = msg["participantId"]
            if conv is None or pid not in (conv.customer_participant_id, conv.agent_participant_id):
                s.send(dumps({"type": "error", "error": "Conversation inactive or participant not found"}))
                return
            wanted[pid] = conv.conversation_id
            s.send(dumps({"type": "subscribed", "id": conv.conversation_id, "participantId": pid}))

        last_end: dict[str, int] = {}

        def listener(conv: Conversation, em: Emission) -> None:
            for u in em.utterances:
                other = "INTERNAL" if u.channel == "EXTERNAL" else "EXTERNAL"
                interrupted = last_end.get(conv.conversation_id + other, -1) > u.offset_ms
                last_end[conv.conversation_id + u.channel] = max(
                    last_end.get(conv.conversation_id + u.channel, 0), u.end_ms
                )
                if wanted.get(u.participant_id) != conv.conversation_id:
                    continue
                s.send(dumps(self._segment_event(conv, u, interrupted)), is_message=True)

        return await self._serve(ws, s, on_text, listener)

    def _segment_event(self, conv: Conversation, u: Utterance, interrupted: bool) -> dict[str, Any]:
        words = [
            {
                "word": w["word"],
                "startTime": w["offsetMs"] / 1000,
                "endTime": (w["offsetMs"] + w["durationMs"]) / 1000,
                "confidence": w["confidence"],
            }
            for w in u.decorated_words
        ]
        degraded = self.rng.random() < 0.1
        return {
            "type": "transcription",
            "conversationId": conv.conversation_id,
            "participantId": u.participant_id,
            "language": u.dialect,
            "segments": [
                {
                    "text": u.decorated_text,
                    "startTime": u.offset_ms / 1000,
                    "endTime": u.end_ms / 1000,
                    "confidence": u.confidence,
                    "words": words,
                }
            ],
            "isPartial": False,
            "interruptionDetected": interrupted,
            "audioQuality": {
                "snrDb": round(self.rng.uniform(4, 12) if degraded else self.rng.uniform(18, 35), 1),
                "jitterMs": round(self.rng.uniform(40, 120) if degraded else self.rng.uniform(2, 25), 1),
                "packetLossPercent": round(self.rng.uniform(3, 9) if degraded else self.rng.uniform(0, 1), 2),
                "detectedLanguage": u.dialect if self.rng.random() > 0.03 else "es-US",
            },
            "timestamp": iso_ms(u.session_start_ms + u.end_ms),
        }

    # -- 003 fragments ------------------------------------------------------------------

    async def fragments(self, request: web.Request) -> web.StreamResponse:
        if self._token(request) is None:
            return web.Response(status=401, text="Unauthorized")
        cid = request.query.get("conversationId", "")
        ws, s = await self._open(request, "fragments")
        if self._live(cid) is None:
            await s.close(1008, b"conversation not active")
            self.p.seed_sessions.discard(s)
            return ws

        def listener(conv: Conversation, em: Emission) -> None:
            if conv.conversation_id != cid:
                return
            for u in em.utterances:
                for piece, final in _pieces(u.decorated_text, self.rng):
                    s.send(
                        dumps(
                            {
                                "utteranceId": u.utterance_id,
                                "speaker": "agent" if u.channel == "INTERNAL" else "customer",
                                "text": piece,
                                "confidence": u.confidence,
                                "startTime": u.session_start_ms + u.offset_ms,
                                "endTime": u.session_start_ms + u.end_ms,
                                "isFinal": final,
                            }
                        ),
                        is_message=True,
                    )

        return await self._serve(ws, s, lambda _msg: None, listener)

    # -- 004 conversation-events --------------------------------------------------------

    async def conversation_events(self, request: web.Request) -> web.StreamResponse:
        if self._token(request, query=True) is None:
            return web.Response(status=401, text="Unauthorized")
        ws, s = await self._open(request, "conversation-events")
        carry = [""]

        def out(doc: dict[str, Any]) -> None:
            # Documents are cut at random places, so one frame may hold the end of one document
            # and the start of the next; the seed's reader must reassemble them.
            text = carry[0] + dumps(doc).decode()
            while len(text) > 64:
                cut = self.rng.randrange(16, min(len(text), 4096) + 1)
                if cut >= len(text) and self.rng.random() < 0.5:
                    break
                s.send(text[:cut].encode(), is_message=True)
                text = text[cut:]
            carry[0] = text
            if text and self.rng.random() < 0.5:
                flush()

        def flush() -> None:
            if carry[0]:
                s.send(carry[0].encode(), is_message=True)
                carry[0] = ""

        def listener(conv: Conversation, em: Emission) -> None:
            base = {"conversationId": conv.conversation_id}
            ts = conv.iso(em.at_ms)
            if em.kind == "discovery":
                if em.phase == "start":
                    out(base | {"type": "statusChange", "data": {"status": "active"}, "timestamp": ts})
                    out(
                        base
                        | {
                            "type": "participants",
                            "data": [
                                {
                                    "participantId": conv.customer_participant_id,
                                    "purpose": "customer",
                                    "name": conv.customer_name.title(),
                                },
                                {
                                    "participantId": conv.agent_participant_id,
                                    "purpose": "agent",
                                    "userId": conv.user_id,
                                },
                            ],
                            "timestamp": ts,
                        }
                    )
                    out(
                        base
                        | {
                            "type": "metadata",
                            "data": {
                                "queueId": conv.queue_id,
                                "communicationId": conv.communication_id,
                                "direction": "inbound",
                            },
                            "timestamp": ts,
                        }
                    )
                else:
                    out(base | {"type": "statusChange", "data": {"status": "ended"}, "timestamp": ts})
                    # Nothing of this call follows: its end is not held back for the next document,
                    # which may never come (the last call of a run).
                    flush()
                return
            for u in em.utterances:
                out(
                    base
                    | {
                        "type": "transcript",
                        "data": {
                            "utteranceId": u.utterance_id,
                            "participantId": u.participant_id,
                            "channel": u.channel,
                            "text": u.decorated_text,
                            "confidence": u.confidence,
                            "offsetMs": u.offset_ms,
                            "durationMs": u.duration_ms,
                        },
                        "timestamp": ts,
                    }
                )

        return await self._serve(ws, s, lambda _msg: None, listener)


def _pieces(text: str, rng: random.Random) -> list[tuple[str, bool]]:
    """Split ``text`` into 1-4 pieces whose concatenation is ``text``; the last is final."""
    words = text.split(" ")
    k = min(len(words), rng.randrange(1, 5))
    cuts = sorted(rng.sample(range(1, len(words)), k - 1)) if k > 1 else []
    bounds = [0, *cuts, len(words)]
    out: list[tuple[str, bool]] = []
    for i in range(len(bounds) - 1):
        chunk = " ".join(words[bounds[i] : bounds[i + 1]])
        if i < len(bounds) - 2:
            chunk += " "
        out.append((chunk, i == len(bounds) - 2))
    return out


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"message": message, "code": code, "status": status}, status=status)
