"""The simulated platform: OAuth, Notifications REST, the channel WebSocket and the traffic engine.

Built from research/genesys-real-api.md §1-§3 only. Where the real behaviour is unknown, the
harsher plausible behaviour is chosen; each such choice is marked ``GUESS`` in a comment and listed
in the package docstring.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import heapq
import json
import random
import re
import secrets
import string
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any, Final

from aiohttp import WSMsgType, web

from .config import (
    ANALYTICS_PERMISSION,
    QUEUE_CONVERSATIONS_PERMISSION,
    TRANSCRIPTION_PERMISSION,
    USER_CONVERSATIONS_PERMISSION,
    OAuthClient,
    SimulatorConfig,
)
from .conversations import (
    Conversation,
    ConversationFactory,
    Directory,
    Emission,
    Utterance,
    dumps,
    iso_ms,
)
from .faults import FaultController, FaultItem
from .limits import MAX_COMBINED_TOPIC_LEN, SlidingWindowLimiter
from .wire import SimulatorStats, SocketSession, SocketStats, text_frame

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
TOPIC_RULES: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (re.compile(rf"^v2\.conversations\.{_UUID}\.transcription$"), TRANSCRIPTION_PERMISSION),
    # GUESS: permissions of the discovery topics are not in the notes.
    (re.compile(rf"^v2\.routing\.queues\.{_UUID}\.conversations$"), QUEUE_CONVERSATIONS_PERMISSION),
    (re.compile(rf"^v2\.users\.{_UUID}\.conversations$"), USER_CONVERSATIONS_PERMISSION),
)
HEARTBEAT: Final = dumps({"topicName": "channel.metadata", "eventBody": {"message": "WebSocket Heartbeat"}})
PONG: Final = dumps({"topicName": "channel.metadata", "eventBody": {"message": "pong"}})
HEARTBEAT_WIRE: Final = text_frame(HEARTBEAT)
PONG_WIRE: Final = text_frame(PONG)


def now_ms() -> int:
    """Wall-clock epoch milliseconds."""
    return time.time_ns() // 1_000_000


def error_body(status: int, code: str, message: str, **extra: Any) -> dict[str, Any]:
    """Build the Genesys ``ErrorBody`` shape (message, code, status, contextId, details...)."""
    body: dict[str, Any] = {
        "message": message,
        "code": code,
        "status": status,
        "messageParams": {},
        "contextId": str(uuid.uuid4()),
        "details": [],
        "errors": [],
    }
    body.update(extra)
    return body


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """Return compact JSON like the platform does."""
    return web.Response(body=dumps(body), status=status, content_type="application/json", headers=headers)


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    """Return a Genesys error body with ``status``."""
    return json_response(error_body(status, code, message), status, headers)


@dataclass(slots=True)
class Token:
    """An issued bearer token."""

    value: str
    client: OAuthClient
    expires_at: float  # monotonic
    revoked: bool = False

    def valid(self, now: float) -> bool:
        """True if neither expired nor revoked."""
        return not self.revoked and now < self.expires_at


@dataclass(eq=False, slots=True)
class Channel:
    """A notification channel."""

    id: str
    client: OAuthClient
    token: Token
    created_token: str
    connect_uri: str
    created: float
    last_used: float
    expires_at: float  # monotonic
    topics: dict[str, None] = field(default_factory=dict)
    session: SocketSession | None = None

    def to_json(self, now_mono: float) -> dict[str, Any]:
        """Render the ``Channel`` model."""
        expires = now_ms() + int((self.expires_at - now_mono) * 1000)
        return {"connectUri": self.connect_uri, "id": self.id, "expires": iso_ms(expires)}


@dataclass(slots=True)
class CallRecord:
    """A call as the analytics query sees it."""

    conversation: Conversation
    started_ms: int
    ended_ms: int | None = None


TOKEN_KEY: Final = web.RequestKey("token", Token)


class SubscribeError(Exception):
    """A subscription request the platform refuses as a whole."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


EmissionListener = Callable[[Conversation, Emission], None]


class Platform:
    """All simulator state and behaviour; :class:`~gcstream.simulator.Simulator` serves it.

    Args:
        config: The validated configuration.
    """

    def __init__(self, config: SimulatorConfig) -> None:
        config.validate()
        self.config = config
        self.directory = Directory.build(config.seed, max(1, config.queues), max(1, config.agents))
        self.factory = ConversationFactory(
            config.seed,
            self.directory,
            config.conversation_duration,
            status_interval_ms=int(config.status_interval * 1000),
        )
        self.rng = random.Random(f"gcstream-sim-runtime:{config.seed}")
        self.stats = SimulatorStats()
        self.faults = FaultController(self, config.fault_plan())
        self.clients = {c.client_id: c for c in config.clients}
        self.tokens: dict[str, Token] = {}
        self.channels: dict[str, Channel] = {}
        self.subs: dict[str, set[Channel]] = {}
        self.limiter = SlidingWindowLimiter(config.requests_per_minute, config.rate_limit_window)
        self.calls: dict[str, CallRecord] = {}
        self._truth: list[tuple[Conversation, tuple[Utterance, ...]]] = []
        self._truth_dicts: list[dict[str, Any]] = []
        self._truth_done = 0
        self.listeners: set[EmissionListener] = set()
        self.seed_sessions: set[SocketSession] = set()
        self.media_activations: dict[str, dict[str, Any]] = {}
        self.base_url = ""
        self.ws_base = ""
        self.traffic_done = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._gt_file: IO[str] | None = None
        self._socket_ids = 0
        self._pregenerated: dict[int, Conversation] = {}
        self._oversized_cache: dict[int, bytes] = {}
        self._traffic_started = False
        self._closers: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------------------------
    # lifecycle
    # ------------------------------------------------------------------------------------

    def build_app(self) -> web.Application:
        """Return the aiohttp application (REST + WebSocket routes)."""
        app = web.Application(middlewares=[self._middleware], client_max_size=4 * 1024 * 1024)
        r = app.router
        r.add_post("/oauth/token", self.oauth_token)
        r.add_post("/api/v2/notifications/channels", self.create_channel)
        r.add_get("/api/v2/notifications/channels", self.list_channels, allow_head=False)
        r.add_route("HEAD", "/api/v2/notifications/channels/{cid}", self.head_channel)
        sub = "/api/v2/notifications/channels/{cid}/subscriptions"
        r.add_get(sub, self.get_subscriptions, allow_head=False)
        r.add_post(sub, self.post_subscriptions)
        r.add_put(sub, self.put_subscriptions)
        r.add_delete(sub, self.delete_subscriptions)
        r.add_get("/api/v2/notifications/availabletopics", self.available_topics, allow_head=False)
        r.add_post("/api/v2/analytics/conversations/details/query", self.analytics_query)
        r.add_get("/channels/{cid}", self.channel_socket)
        from . import seeds  # local import: seeds builds on Platform

        seeds.add_routes(self, app)
        return app

    async def start(self, base_url: str) -> None:
        """Start background tasks once the server listens at ``base_url``."""
        self.base_url = base_url
        self.ws_base = "ws" + base_url[len("http") :]
        if self.config.ground_truth_path:
            self._gt_file = open(self.config.ground_truth_path, "w", encoding="utf-8")  # noqa: SIM115
        if self.config.pregenerate:
            assert self.config.max_conversations is not None
            anchor = now_ms() - int(self.factory.duration_ms * 2)
            for i in range(self.config.max_conversations):
                conv = self.factory.build(i, anchor)
                for em in conv.emissions:
                    em.wire = text_frame(em.payload)
                self._pregenerated[i] = conv
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._heartbeats()))
        self._tasks.append(loop.create_task(self._housekeeping()))
        if self.config.autostart:
            self.start_traffic()

    def start_traffic(self) -> None:
        """Begin publishing conversations (once)."""
        if self._traffic_started:
            return
        self._traffic_started = True
        self._tasks.append(asyncio.get_running_loop().create_task(self._traffic()))

    async def stop(self) -> None:
        """Cancel tasks and close every socket."""
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks.clear()
        sessions = [c.session for c in self.channels.values() if c.session] + list(self.seed_sessions)
        await asyncio.gather(*(s.close(1001, flush=False) for s in sessions), return_exceptions=True)
        for t in list(self._closers):
            t.cancel()
        if self._gt_file is not None:
            self._gt_file.close()
            self._gt_file = None

    # ------------------------------------------------------------------------------------
    # REST plumbing
    # ------------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        path = request.path
        is_api = path.startswith("/api/v2/")
        upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
        if upgrade or not (is_api or path == "/oauth/token"):  # sockets authenticate themselves
            return await handler(request)
        st = self.stats
        st.requests += 1
        route = request.match_info.route.resource.canonical if request.match_info.route.resource else path
        key = f"{request.method} {route}"
        st.requests_by_route[key] = st.requests_by_route.get(key, 0) + 1
        forced = self.faults.take_rest_fault(self.rng.random)
        if forced is not None:
            status, retry = forced
            st.rest_faults += 1
            if status == 429:
                st.rate_limited += 1
                return self._too_many(retry)
            return self._server_error(status)
        if not is_api:
            return await handler(request)
        token = self._bearer(request)
        if token is None:
            st.auth_failures += 1
            return error_response(401, "bad.credentials", "Invalid login credentials.")
        retry = self.limiter.check(token.value, time.monotonic())
        if retry:
            st.rate_limited += 1
            return self._too_many(retry)
        request[TOKEN_KEY] = token
        resp = await handler(request)
        used = len(self.limiter._hits.get(token.value, ()))
        resp.headers["inin-ratelimit-count"] = str(used)
        resp.headers["inin-ratelimit-allowed"] = str(self.config.requests_per_minute)
        return resp

    def _too_many(self, retry: int) -> web.Response:
        body = error_body(
            429,
            "too.many.requests.retry.after",
            f"Rate limit exceeded the maximum. Retry the request in [{retry}] seconds",
        )
        return json_response(body, 429, {"Retry-After": str(retry)})

    def _server_error(self, status: int) -> web.Response:
        if status in (502, 504):
            # GUESS: gateway errors come from the edge, not the API: HTML, not the JSON ErrorBody.
            text = "Bad Gateway" if status == 502 else "Gateway Timeout"
            return web.Response(
                status=status,
                text=f"<html><body><h1>{status} {text}</h1></body></html>",
                content_type="text/html",
            )
        code = {500: "internal.server.error", 503: "service.unavailable"}.get(status, "server.error")
        return error_response(status, code, "The service is currently unavailable.")

    def _bearer(self, request: web.Request) -> Token | None:
        auth = request.headers.get("Authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "bearer" or not value:
            return None
        tok = self.tokens.get(value.strip())
        if tok is None or not tok.valid(time.monotonic()):
            return None
        return tok

    # ------------------------------------------------------------------------------------
    # OAuth
    # ------------------------------------------------------------------------------------

    async def oauth_token(self, request: web.Request) -> web.Response:
        """``POST /oauth/token``: client credentials with a Basic header."""

        def oauth_error(status: int, error: str, description: str) -> web.Response:
            body = {"error": error, "description": description, "error_description": description}
            return json_response(body, status)

        form = await request.post()
        if form.get("grant_type") != "client_credentials":
            return oauth_error(400, "unsupported_grant_type", "grant type is not supported")
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            # GUESS: client_id/client_secret as form fields (what no Genesys SDK does) are refused.
            self.stats.auth_failures += 1
            return oauth_error(401, "invalid_client", "client authentication failed")
        try:
            client_id, _, secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            self.stats.auth_failures += 1
            return oauth_error(401, "invalid_client", "client authentication failed")
        client = self.clients.get(client_id)
        if client is None or not secrets.compare_digest(client.client_secret, secret):
            self.stats.auth_failures += 1
            return oauth_error(401, "invalid_client", "client authentication failed")
        value = secrets.token_urlsafe(64)
        self.tokens[value] = Token(value, client, time.monotonic() + client.expires_in)
        self.stats.tokens_issued += 1
        return json_response({"access_token": value, "token_type": "bearer", "expires_in": client.expires_in})

    # ------------------------------------------------------------------------------------
    # Channels
    # ------------------------------------------------------------------------------------

    def _new_channel_id(self) -> str:
        alphabet = string.ascii_lowercase + string.digits
        while True:
            cid = "streaming-0-" + "".join(self.rng.choice(alphabet) for _ in range(26))
            if cid not in self.channels:
                return cid

    def _lifetime(self) -> float:
        return self.config.channel_lifetime / self.config.time_scale

    async def create_channel(self, request: web.Request) -> web.Response:
        """``POST /api/v2/notifications/channels`` (no body) -> ``Channel``."""
        token: Token = request[TOKEN_KEY]
        now = time.monotonic()
        mine = [c for c in self.channels.values() if c.client.client_id == token.client.client_id]
        while len(mine) >= self.config.max_channels:
            # The oldest last-used channel goes, channels without a socket first [SDK docstring].
            victim = min(mine, key=lambda c: (c.session is not None, c.last_used))
            mine.remove(victim)
            self._evict(victim)
        cid = self._new_channel_id()
        ch = Channel(
            id=cid,
            client=token.client,
            token=token,
            created_token=token.value,
            connect_uri=f"{self.ws_base}/channels/{cid}",
            created=now,
            last_used=now,
            expires_at=now + self._lifetime(),
        )
        self.channels[cid] = ch
        self.stats.channels_created += 1
        return json_response(ch.to_json(now))

    async def list_channels(self, request: web.Request) -> web.Response:
        """``GET /api/v2/notifications/channels?includechannels=token|oauthclient``."""
        token: Token = request[TOKEN_KEY]
        include = request.query.get("includechannels", "token").lower()
        if include not in ("token", "oauthclient"):
            return error_response(400, "bad.request", f"Invalid value for includechannels: {include}")
        now = time.monotonic()
        if include == "token":
            chans = [c for c in self.channels.values() if c.token is token]
        else:
            chans = [c for c in self.channels.values() if c.client.client_id == token.client.client_id]
        return json_response({"entities": [c.to_json(now) for c in chans]})

    def _owned(self, request: web.Request) -> Channel | None:
        token: Token = request[TOKEN_KEY]
        ch = self.channels.get(request.match_info["cid"])
        if ch is None or ch.client.client_id != token.client.client_id:
            return None
        # Any authenticated use rebinds the channel to the caller's (fresh) token.
        ch.token = token
        ch.last_used = time.monotonic()
        return ch

    async def head_channel(self, request: web.Request) -> web.Response:
        """``HEAD /api/v2/notifications/channels/{id}``: 200 if alive, 404 if not."""
        return web.Response(status=200 if self._owned(request) else 404)

    def _channel_404(self) -> web.Response:
        return error_response(404, "not.found", "The requested channel could not be found.")

    async def get_subscriptions(self, request: web.Request) -> web.Response:
        """``GET .../subscriptions`` -> ``ChannelTopicEntityListing``."""
        ch = self._owned(request)
        if ch is None:
            return self._channel_404()
        return json_response({"entities": [self._topic_entity(ch, t) for t in ch.topics]})

    async def post_subscriptions(self, request: web.Request) -> web.Response:
        """``POST .../subscriptions[?ignoreErrors=true]``: add topics."""
        return await self._change_subscriptions(request, replace=False)

    async def put_subscriptions(self, request: web.Request) -> web.Response:
        """``PUT .../subscriptions[?ignoreErrors=true]``: replace all topics."""
        return await self._change_subscriptions(request, replace=True)

    async def delete_subscriptions(self, request: web.Request) -> web.Response:
        """``DELETE .../subscriptions``: remove every topic."""
        ch = self._owned(request)
        if ch is None:
            return self._channel_404()
        self._set_topics(ch, [])
        return web.Response(status=204)

    def _topic_entity(self, ch: Channel, topic: str) -> dict[str, Any]:
        return {
            "id": topic,
            "state": "Permitted",
            "selfUri": f"/api/v2/notifications/channels/{ch.id}/subscriptions",
        }

    async def _change_subscriptions(self, request: web.Request, *, replace: bool) -> web.Response:
        ch = self._owned(request)
        if ch is None:
            return self._channel_404()
        ignore = request.query.get("ignoreErrors", "false").lower() == "true"
        try:
            body = json.loads(await request.read() or b"null")
        except ValueError:
            return error_response(
                400,
                "bad.request",
                "The request could not be understood by the server due to malformed syntax.",
            )
        if not isinstance(body, list) or not all(
            isinstance(x, dict) and isinstance(x.get("id"), str) for x in body
        ):
            return error_response(
                400, "bad.request", 'Request body must be an array of topics: [{"id": "..."}]'
            )
        try:
            permitted, rejected = self.apply_topics(
                ch, [x["id"] for x in body], replace=replace, ignore_errors=ignore
            )
        except SubscribeError as e:
            return error_response(e.status, e.code, e.message)
        entities = [self._topic_entity(ch, t) for t in ch.topics] + rejected
        del permitted
        return json_response({"entities": entities})

    def expand_topics(self, topics: list[str]) -> list[str]:
        """Expand combined topics (``prefix?a&b`` -> ``prefix.a``, ``prefix.b``).

        Raises:
            SubscribeError: If a combined topic passes 200 characters.
        """
        out: list[str] = []
        for t in topics:
            if "?" in t:
                if len(t) > MAX_COMBINED_TOPIC_LEN:
                    raise SubscribeError(
                        400, "bad.request", f"Combined topic exceeds {MAX_COMBINED_TOPIC_LEN} characters"
                    )
                prefix, _, rest = t.partition("?")
                out += [f"{prefix}.{s}" for s in rest.split("&") if s]
            else:
                out.append(t)
        return list(dict.fromkeys(out))

    def apply_topics(
        self, ch: Channel, topics: list[str], *, replace: bool, ignore_errors: bool
    ) -> tuple[list[str], list[dict[str, Any]]]:
        """Check and apply a subscription change (REST or socket).

        Returns:
            Permitted topics of this request and the ``Rejected`` entities.

        Raises:
            SubscribeError: 400 (bad topic, over 1,000 topics) or 403 (missing permission,
                without ``ignoreErrors``); nothing changes then.
        """
        expanded = self.expand_topics(topics)
        permitted: list[str] = []
        rejected: list[dict[str, Any]] = []
        for t in expanded:
            perm = next((p for rx, p in TOPIC_RULES if rx.match(t)), None)
            if perm is None:
                if not ignore_errors:
                    raise SubscribeError(400, "bad.request", f"Invalid topic: {t}")
                rejected.append(
                    {
                        "id": t,
                        "state": "Rejected",
                        "rejectionReason": "Invalid topic",
                        "missingPermissions": [],
                    }
                )
            elif perm not in ch.client.permissions:
                if not ignore_errors:
                    raise SubscribeError(
                        403,
                        "missing.permissions",
                        _missing(perm),
                    )
                rejected.append(
                    {
                        "id": t,
                        "state": "Rejected",
                        "rejectionReason": f"Missing permissions for topic {t}",
                        "missingPermissions": [perm],
                    }
                )
            else:
                permitted.append(t)
        new = permitted if replace else list(dict.fromkeys([*ch.topics, *permitted]))
        if len(new) > self.config.max_topics:
            raise SubscribeError(
                400,
                "bad.request",
                f"Channel topic limit exceeded: {len(new)} topics, maximum is {self.config.max_topics}",
            )
        self._set_topics(ch, new)
        # Resubscribing extends the channel by another full lifetime [DOC].
        ch.expires_at = time.monotonic() + self._lifetime()
        return permitted, rejected

    def _set_topics(self, ch: Channel, topics: list[str]) -> None:
        for t in ch.topics:
            s = self.subs.get(t)
            if s is not None:
                s.discard(ch)
                if not s:
                    del self.subs[t]
        ch.topics = dict.fromkeys(topics)
        for t in ch.topics:
            self.subs.setdefault(t, set()).add(ch)

    def _remove_channel(self, ch: Channel, *, code: int = 1000, notice: bytes | None = None) -> None:
        self._set_topics(ch, [])
        self.channels.pop(ch.id, None)
        if ch.session is not None:
            s, ch.session = ch.session, None
            if notice is not None:
                s.send(notice, is_message=True)
            self._spawn_close(s, code)

    def _evict(self, ch: Channel) -> None:
        """Evict a channel (the 20-channel rule, or the ``evict`` fault)."""
        self.stats.channels_evicted += 1
        if ch.session is not None and ch.session.stats.close_reason is None:
            ch.session.stats.close_reason = "evicted"
        # GUESS: an evicted channel's socket is closed without any system message.
        self._remove_channel(ch, code=1000)

    def _spawn_close(self, s: SocketSession, code: int, delay: float = 0.0) -> None:
        async def closer() -> None:
            if delay:
                await asyncio.sleep(delay)
            await s.close(code)

        t = asyncio.get_running_loop().create_task(closer())
        self._closers.add(t)
        t.add_done_callback(self._closers.discard)

    async def available_topics(self, request: web.Request) -> web.Response:
        """``GET /api/v2/notifications/availabletopics``: the three topics this peer serves."""
        entities = [
            {
                "id": "v2.conversations.{id}.transcription",
                "description": "Real-time transcription of a conversation",
                "requiresPermissions": [TRANSCRIPTION_PERMISSION],
                "transports": ["All"],
                "visibility": "Public",
            },
            {
                "id": "v2.routing.queues.{id}.conversations",
                "description": "Conversations on a queue",
                "requiresPermissions": [QUEUE_CONVERSATIONS_PERMISSION],
                "transports": ["All"],
                "visibility": "Public",
            },
            {
                "id": "v2.users.{id}.conversations",
                "description": "Conversations of a user",
                "requiresPermissions": [USER_CONVERSATIONS_PERMISSION],
                "transports": ["All"],
                "visibility": "Public",
            },
        ]
        return json_response({"entities": entities})

    # ------------------------------------------------------------------------------------
    # Analytics
    # ------------------------------------------------------------------------------------

    async def analytics_query(self, request: web.Request) -> web.Response:
        """``POST /api/v2/analytics/conversations/details/query``: calls in an interval."""
        token: Token = request[TOKEN_KEY]
        if ANALYTICS_PERMISSION not in token.client.permissions:
            return error_response(
                403,
                "missing.permissions",
                _missing(ANALYTICS_PERMISSION),
            )
        try:
            body = json.loads(await request.read() or b"null")
            start_s, _, end_s = str(body["interval"]).partition("/")
            start = _parse_iso(start_s)
            end = _parse_iso(end_s)
        except (ValueError, KeyError, TypeError):
            return error_response(
                400,
                "bad.request",
                "A valid interval is required, e.g. 2026-03-21T00:00:00.000Z/2026-03-22T00:00:00.000Z",
            )
        only_open = False
        for f in body.get("conversationFilters") or []:
            for p in f.get("predicates") or []:
                if p.get("dimension") == "conversationEnd" and p.get("operator") == "notExists":
                    only_open = True
        paging = body.get("paging") or {}
        size = max(1, min(100, int(paging.get("pageSize", 25))))
        page = max(1, int(paging.get("pageNumber", 1)))
        hits = [
            rec
            for rec in self.calls.values()
            if rec.started_ms < end
            and (rec.ended_ms is None or rec.ended_ms >= start)
            and not (only_open and rec.ended_ms is not None)
        ]
        desc = str(body.get("order", "asc")).lower() == "desc"
        hits.sort(key=lambda r: r.started_ms, reverse=desc)
        page_hits = hits[(page - 1) * size : page * size]
        out: dict[str, Any] = {"totalHits": len(hits)}
        if page_hits:
            # The real API omits "conversations" entirely when there are none.
            out["conversations"] = [self._analytics_conversation(r) for r in page_hits]
        return json_response(out)

    def _analytics_conversation(self, rec: CallRecord) -> dict[str, Any]:
        c = rec.conversation
        start = iso_ms(rec.started_ms)

        def session(sid: str, purpose: str, **seg: Any) -> dict[str, Any]:
            segment: dict[str, Any] = {"segmentStart": start, "segmentType": "interact"} | seg
            if rec.ended_ms is not None:
                segment["segmentEnd"] = iso_ms(rec.ended_ms)
                segment["disconnectType"] = "peer" if purpose != "customer" else "client"
            return {"sessionId": sid, "mediaType": "voice", "direction": "inbound", "segments": [segment]}

        conv: dict[str, Any] = {
            "conversationId": c.conversation_id,
            "conversationStart": start,
            "originatingDirection": "inbound",
            "divisionIds": [],
            "participants": [
                {
                    "participantId": c.customer_participant_id,
                    "participantName": c.customer_name.title(),
                    "purpose": "customer",
                    "sessions": [session(c.communication_id, "customer", queueId=c.queue_id)],
                },
                {
                    "participantId": c.acd_participant_id,
                    "participantName": self.directory.queue_names[self.directory.queue_ids.index(c.queue_id)],
                    "purpose": "acd",
                    "sessions": [
                        session(
                            str(uuid.uuid5(uuid.NAMESPACE_URL, c.conversation_id + "/acd")),
                            "acd",
                            queueId=c.queue_id,
                        )
                    ],
                },
                {
                    "participantId": c.agent_participant_id,
                    "participantName": self.directory.user_names[
                        self.directory.user_ids.index(c.user_id)
                    ].title(),
                    "purpose": "agent",
                    "userId": c.user_id,
                    "sessions": [
                        session(
                            str(uuid.uuid5(uuid.NAMESPACE_URL, c.conversation_id + "/agent")),
                            "agent",
                            queueId=c.queue_id,
                        )
                    ],
                },
            ],
        }
        if rec.ended_ms is not None:
            conv["conversationEnd"] = iso_ms(rec.ended_ms)
        return conv

    # ------------------------------------------------------------------------------------
    # The channel WebSocket
    # ------------------------------------------------------------------------------------

    def new_session(
        self, ws: web.WebSocketResponse, request: web.Request, kind: str, channel_id: str | None
    ) -> SocketSession:
        """Create, register and start a server socket session."""
        self._socket_ids += 1
        st = SocketStats(self._socket_ids, kind, channel_id, time.monotonic())
        self.stats.sockets.append(st)
        self.stats.sockets_opened += 1

        def blocked(count: int, seconds: float) -> None:
            self.stats.writer_blocked_count += count
            self.stats.writer_blocked_s += seconds

        s = SocketSession(ws, request, st, blocked)
        s.start()
        return s

    async def channel_socket(self, request: web.Request) -> web.StreamResponse:
        """The WebSocket at ``connectUri``; no auth: the channel id is the capability."""
        ws = web.WebSocketResponse(compress=False, autoping=True, max_msg_size=1 << 20)
        await ws.prepare(request)
        ch = self.channels.get(request.match_info["cid"])
        s = self.new_session(ws, request, "notifications", ch.id if ch else None)
        if ch is None:
            # A dead, expired or evicted channel: a 404 frame, then the close [3P koodaamo].
            s.send(dumps({"result": "404", "message": "Channel not found or expired"}))
            await s.close(1000)
            self.stats.sockets_closed += 1
            return ws
        if ch.session is not None:
            # One socket per channel: the newcomer wins [DOC]. GUESS: the old one is told
            # no_longer_subscribed (reason another_channel_subscribed) unless it is closing anyway.
            old = ch.session
            self.stats.sockets_replaced += 1
            if old.stats.close_reason != "socket_closing":
                old.send(
                    self._system_message(ch, "no_longer_subscribed", "another_channel_subscribed"),
                    is_message=True,
                )
            old.stats.close_reason = "replaced"
            self._spawn_close(old, 1000)
        ch.session = s
        ch.last_used = time.monotonic()
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    s.stats.frames_received += 1
                    self._on_client_text(ch, s, msg.data)
                elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
        finally:
            if ch.session is s:
                ch.session = None
            s.closed = True
            s._finish()
            self.stats.sockets_closed += 1
        return ws

    def _on_client_text(self, ch: Channel, s: SocketSession, data: str) -> None:
        try:
            msg = json.loads(data)
        except ValueError:
            s.send(dumps({"result": "400", "status": "error", "message": "Invalid JSON"}))
            return
        if not isinstance(msg, dict):
            s.send(dumps({"result": "400", "status": "error", "message": "Invalid message"}))
            return
        kind = msg.get("message")
        if kind == "ping":
            s.send_wire(PONG_WIRE)
            self.stats.pongs_sent += 1
            return
        corr = msg.get("correlationId")
        topics = msg.get("topics")
        if kind in ("subscribe", "unsubscribe"):
            if not isinstance(topics, list) or not topics or not all(isinstance(t, str) for t in topics):
                s.send(
                    dumps(
                        {
                            "correlationId": corr,
                            "topics": [],
                            "result": "400",
                            "status": "error",
                            "message": "Required data missing from subscribe request.",
                        }
                    )
                )
                return
            if ch.id not in self.channels:
                s.send(
                    dumps({"result": "404", "message": "Channel not found or expired", "correlationId": corr})
                )
                return
            if kind == "subscribe":
                try:
                    permitted, _ = self.apply_topics(ch, topics, replace=False, ignore_errors=False)
                except SubscribeError as e:
                    s.send(
                        dumps(
                            {
                                "correlationId": corr,
                                "topics": [],
                                "result": str(e.status),
                                "status": "error",
                                "message": e.message,
                            }
                        )
                    )
                    return
                s.send(
                    dumps(
                        {"correlationId": corr, "topics": permitted, "result": "200", "status": "subscribed"}
                    )
                )
            else:
                gone = set(self.expand_topics(topics))
                self._set_topics(ch, [t for t in ch.topics if t not in gone])
                s.send(
                    dumps(
                        {
                            "correlationId": corr,
                            "topics": sorted(gone),
                            "result": "200",
                            "status": "unsubscribed",
                        }
                    )
                )
            return
        s.send(
            dumps(
                {
                    "correlationId": corr,
                    "result": "400",
                    "status": "error",
                    "message": f"Unknown message type: {kind}",
                }
            )
        )

    def _system_message(self, ch: Channel, kind: str, reason: str) -> bytes:
        body = {
            "channelId": ch.id,
            "systemTopicType": kind,
            "correlationId": str(uuid.uuid4()),
            "organizationId": self.directory.organization_id,
            "oauthClientId": ch.client.client_id,
            "oauthClientOrgId": self.directory.organization_id,
            "reason": reason,
            "message": {
                "no_longer_subscribed": "Another WebSocket connected to this channel",
                "token_revoked": "The token used to create this channel was revoked",
            }.get(kind, kind),
        }
        return dumps(
            {
                "topicName": f"v2.system.{kind}.{ch.id}",
                "version": "2",
                "eventBody": body,
                "metadata": {"CorrelationId": body["correlationId"]},
            }
        )

    # ------------------------------------------------------------------------------------
    # Publishing
    # ------------------------------------------------------------------------------------

    def publish(self, topic: str, wire: bytes) -> int:
        """Queue a framed message to every socket subscribed to ``topic``; apply faults."""
        chans = self.subs.get(topic)
        if not chans:
            return 0
        n = 0
        f = self.faults
        chaos = (
            f.dup_p
            or f.malformed_p
            or f.oversized_p
            or f.drop_p
            or f.stall_p
            or f.closing_p
            or f.revoke_p
            or f.evict_p
        )
        limit = self.config.slow_consumer_limit
        # A copy: revoke and evict remove channels, and with them this topic's set entries.
        for ch in list(chans):
            s = ch.session
            if s is None:
                continue
            s.send_wire(wire, is_message=True)
            n += 1
            if chaos:
                self._chaos(ch, s, wire, topic)
            if limit is not None and s.backlog > limit:
                ch.session = None
                s.stats.close_reason = "slow_consumer"
                self._spawn_close(s, 1008)
        return n

    def _chaos(self, ch: Channel, s: SocketSession, wire: bytes, topic: str) -> None:
        f, r = self.faults, self.rng.random
        if f.dup_p and r() < f.dup_p:
            s.send_wire(wire, is_message=True)
            self.stats.duplicates_sent += 1
        if f.malformed_p and r() < f.malformed_p:
            s.send(self._malformed(wire))
            self.stats.malformed_sent += 1
        if f.oversized_p and r() < f.oversized_p:
            s.send(self._oversized(f.oversized_bytes, topic))
            self.stats.oversized_sent += 1
        if f.stall_p and r() < f.stall_p:
            s.stall(5.0)
            self.stats.stalls += 1
        if f.closing_p and r() < f.closing_p:
            self._closing_one(ch, s, True, None)
        if f.drop_p and r() < f.drop_p:
            self._drop_one(s)
        if f.revoke_p and r() < f.revoke_p:
            self.fault_revoke()
        if f.evict_p and r() < f.evict_p and self.channels.get(ch.id) is ch:
            self._evict(ch)

    def _record_truth(self, conv: Conversation, em: Emission) -> None:
        # Ground truth is kept as references and turned into dicts only when read (cheap on
        # the hot path); the JSONL file, when asked for, is written as we go.
        self._truth.append((conv, em.utterances))
        if self._gt_file is not None:
            for u in em.utterances:
                self._gt_file.write(json.dumps(u.ground_truth(conv.queue_id, conv.user_id)) + "\n")
            self._gt_file.flush()

    @property
    def ground_truth(self) -> list[dict[str, Any]]:
        """Every utterance published so far, as ground-truth records (see ``Utterance``)."""
        done = self._truth_done
        for conv, utts in self._truth[done:]:
            self._truth_dicts.extend(u.ground_truth(conv.queue_id, conv.user_id) for u in utts)
        self._truth_done = len(self._truth)
        return self._truth_dicts

    def emit(self, conv: Conversation, em: Emission) -> None:
        """Publish one scheduled emission of ``conv``."""
        wire = em.wire
        if not wire:
            wire = em.wire = text_frame(em.payload)
        st = self.stats
        st.messages_published += 1
        if em.utterances:
            st.utterances_published += len(em.utterances)
            self._record_truth(conv, em)
        elif em.kind == "discovery":
            self._discovery(conv, em)
        self.publish(em.topic, wire)
        for topic, payload in em.also:
            self.publish(topic, text_frame(payload))
        if self.listeners:
            for listener in tuple(self.listeners):
                listener(conv, em)

    def _discovery(self, conv: Conversation, em: Emission) -> None:
        st = self.stats
        if em.phase == "start":
            self.calls[conv.conversation_id] = CallRecord(conv, conv.start_epoch_ms)
            st.conversations_started += 1
            return
        rec = self.calls.get(conv.conversation_id)
        if rec is not None:
            rec.ended_ms = conv.start_epoch_ms + em.at_ms
        st.conversations_ended += 1
        if len(self.calls) > 10_000:  # bounded: forget the oldest ended calls
            for k in [k for k, r in self.calls.items() if r.ended_ms is not None][:1000]:
                del self.calls[k]

    # ------------------------------------------------------------------------------------
    # Background tasks
    # ------------------------------------------------------------------------------------

    def _build(self, index: int) -> Conversation:
        conv = self._pregenerated.pop(index, None)
        if conv is not None:
            return conv
        cfg = self.config
        # Epoch anchor: in true real time the call starts now; when playback is faster than
        # real time, anchor it in the past so no utterance ends after it is sent.
        if cfg.rate is None and cfg.time_scale <= 1.0:
            anchor = now_ms()
        else:
            anchor = now_ms() - 2 * self.factory.duration_ms
        return self.factory.build(index, anchor)

    async def _traffic(self) -> None:
        cfg = self.config
        loop = asyncio.get_running_loop()
        heap: list[tuple[float, int, int, Any, Any]] = []  # (sim_ms, seq, kind, conv|slot, emission)
        seq = 0
        next_index = 0
        total = cfg.max_conversations

        def schedule_start(slot: int, at: float) -> None:
            nonlocal seq, next_index
            if total is not None and next_index >= total:
                return
            seq += 1
            heapq.heappush(heap, (at, seq, 0, (slot, next_index), None))
            next_index += 1

        if cfg.start_interval is not None:
            stagger = cfg.start_interval * 1000.0
        else:
            stagger = 500.0 if cfg.rate is None else 50.0
        for slot in range(cfg.conversations):
            schedule_start(slot, slot * stagger)
        t0 = loop.time()
        published = 0
        try:
            while heap:
                now = loop.time()
                if cfg.rate is None:
                    sim_now = (now - t0) * 1000.0 * cfg.time_scale
                    wait = (heap[0][0] - sim_now) / 1000.0 / cfg.time_scale
                    if wait > 0:
                        await asyncio.sleep(min(wait, 0.25))
                        continue
                    budget = 1 << 30
                elif cfg.rate > 0:
                    budget = min(int((now - t0) * cfg.rate) - published, 4096)
                    if budget <= 0:
                        await asyncio.sleep(max(0.002, min(0.05, 1.0 / cfg.rate)))
                        continue
                    sim_now = float("inf")
                else:
                    budget = 1024
                    sim_now = float("inf")
                while heap and budget > 0 and heap[0][0] <= sim_now:
                    at, _, kind, a, em = heapq.heappop(heap)
                    if kind == 0:
                        slot, index = a
                        conv = self._build(index)
                        for e in conv.emissions:
                            seq += 1
                            heapq.heappush(heap, (at + e.at_ms, seq, 1, conv, e))
                        seq += 1
                        end_at = at + conv.emissions[-1].at_ms
                        heapq.heappush(heap, (end_at + 0.5, seq, 2, slot, None))
                    elif kind == 1:
                        self.emit(a, em)
                        published += 1
                        budget -= 1
                    else:
                        schedule_start(a, at + self.rng.randrange(1000, 3000))
                if cfg.rate == 0:
                    await self._backpressure()
                await asyncio.sleep(0)
        finally:
            self.traffic_done.set()

    async def _backpressure(self) -> None:
        for ch in list(self.channels.values()):
            s = ch.session
            if s is not None and s.backlog > 2048:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):
                        await s.wait_drained()

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.config.heartbeat_interval)
            for ch in list(self.channels.values()):
                if ch.session is not None:
                    ch.session.send_wire(HEARTBEAT_WIRE)
                    self.stats.heartbeats_sent += 1

    async def _housekeeping(self) -> None:
        timed: list[tuple[float, FaultItem]] = []
        start = time.monotonic()
        for item in self.faults.plan.timed():
            first = item.after if item.after is not None else item.every
            timed.append((start + (first or 0.0), item))
        while True:
            now = time.monotonic()
            self._expire(now)
            for i, (due, item) in enumerate(timed):
                if now >= due:
                    self.faults.fire(item, self.config.time_scale)
                    timed[i] = (now + item.every if item.every else float("inf"), item)
            await asyncio.sleep(0.05)

    def _expire(self, now: float) -> None:
        for tok in [t for t in self.tokens.values() if not t.valid(now)]:
            if now > tok.expires_at + 3600:
                self.tokens.pop(tok.value, None)
                self.limiter.forget(tok.value)
        for ch in list(self.channels.values()):
            if now >= ch.expires_at:
                self.stats.channels_expired += 1
                # GUESS: an expired channel's socket is closed with no warning message.
                self._remove_channel(ch, code=1000)
            elif self.config.channels_die_with_token and not ch.token.valid(now) and not ch.token.revoked:
                # GUESS: a channel whose token expired is gone (the 404 that clients report).
                self.stats.channels_expired += 1
                self._remove_channel(ch, code=1000)

    # ------------------------------------------------------------------------------------
    # FaultTarget
    # ------------------------------------------------------------------------------------

    def all_sessions(self) -> list[SocketSession]:
        """Every open socket: channel sockets and seed-format sockets."""
        out = [c.session for c in self.channels.values() if c.session is not None]
        return out + [s for s in self.seed_sessions if not s.closed]

    def _drop_one(self, s: SocketSession) -> None:
        s.stats.close_reason = "dropped"
        s.abort()
        self.stats.sockets_dropped += 1
        for ch in self.channels.values():
            if ch.session is s:
                ch.session = None

    def fault_drop(self) -> int:
        """Abort every socket."""
        sessions = self.all_sessions()
        for s in sessions:
            self._drop_one(s)
        return len(sessions)

    def fault_stall(self, seconds: float) -> int:
        """Stall every socket."""
        sessions = self.all_sessions()
        for s in sessions:
            s.stall(seconds)
        self.stats.stalls += len(sessions)
        return len(sessions)

    def _malformed(self, wire: bytes | None = None) -> bytes:
        variants = [
            b'{"topicName":"v2.conversations.',
            b'{"topicName":"channel.metadata","eventBody":{"message":"WebSocket Heartbeat"}}}',
            b'{"topicName": "v2.conversations.x.transcription", "version": "2",'
            b' "eventBody": {"transcripts": [,]}}',
            b"\xef\xbb\xbf{not json at all",
            b'{"topicName":"v2.conversations.x.transcription","eventBody":{"status":{"offsetMs":NaN}}}',
        ]
        if wire:
            payload = wire[2:] if len(wire) < 128 else wire[4:] if len(wire) < 65540 else wire[10:]
            variants.append(payload[: max(1, len(payload) // 2)])
        return self.rng.choice(variants)

    def fault_malformed(self, n: int) -> int:
        """Send ``n`` invalid-JSON frames to every socket."""
        sessions = self.all_sessions()
        for s in sessions:
            for _ in range(n):
                s.send(self._malformed(), is_message=False)
                self.stats.malformed_sent += 1
        return len(sessions)

    def _oversized(self, size: int, topic: str | None = None) -> bytes:
        cached = self._oversized_cache.get(size)
        if cached is not None:
            return cached
        cid = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        body: dict[str, Any] = {
            "eventTime": iso_ms(now_ms()),
            "organizationId": self.directory.organization_id,
            "conversationId": cid,
            "communicationId": cid,
            "sessionStartTimeMs": now_ms(),
            "transcriptionStartTimeMs": now_ms(),
            "transcripts": [
                {
                    "utteranceId": str(uuid.uuid4()),
                    "isFinal": True,
                    "channel": "EXTERNAL",
                    "alternatives": [
                        {"confidence": 0.5, "offsetMs": 0, "durationMs": 1000, "transcript": "", "words": []}
                    ],
                }
            ],
            "status": {"offsetMs": 1000, "status": "SESSION_ONGOING"},
        }
        env = {
            "topicName": f"v2.conversations.{cid}.transcription",
            "version": "2",
            "eventBody": body,
            "metadata": {"CorrelationId": cid},
        }
        base = len(dumps(env))
        body["transcripts"][0]["alternatives"][0]["transcript"] = ("blah " * (max(0, size - base) // 5 + 1))[
            : max(0, size - base)
        ]
        out = dumps(env)
        self._oversized_cache[size] = out
        del topic
        return out

    def fault_oversized(self, n: int, size: int) -> int:
        """Send ``n`` oversized envelopes to every socket."""
        sessions = self.all_sessions()
        payload = self._oversized(size)
        for s in sessions:
            for _ in range(n):
                s.send(payload)
                self.stats.oversized_sent += 1
        return len(sessions)

    def fault_revoke(self) -> int:
        """Revoke all tokens; channels bound to them get ``token_revoked`` and are removed."""
        n = 0
        for tok in self.tokens.values():
            if not tok.revoked:
                tok.revoked = True
                n += 1
        self.stats.tokens_revoked += n
        for ch in list(self.channels.values()):
            if ch.token.revoked:
                self._remove_channel(
                    ch, code=1000, notice=self._system_message(ch, "token_revoked", "user_tokens_revoked")
                )
        return n

    def _closing_one(self, ch: Channel, s: SocketSession, warn: bool, grace: float | None) -> None:
        if s.stats.close_reason == "socket_closing":
            return
        s.stats.close_reason = "socket_closing"
        if warn:
            body = {"message": "WebSocket closing for maintenance", "channelId": ch.id}
            s.send(
                dumps({"topicName": "v2.system.socket_closing", "version": "2", "eventBody": body}),
                is_message=True,
            )
            self.stats.socket_closing_sent += 1
            delay = grace if grace is not None else self.config.socket_closing_grace / self.config.time_scale
        else:
            delay = 0.0
        self._spawn_close(s, 1001, delay)

    def fault_closing(self, warn: bool, grace_s: float | None) -> int:
        """Planned close of every channel socket (with or without the warning)."""
        n = 0
        for ch in list(self.channels.values()):
            if ch.session is not None:
                self._closing_one(ch, ch.session, warn, grace_s)
                n += 1
        return n

    def fault_evict(self, channel_id: str | None) -> int:
        """Evict one channel, or (``None``) every channel that has a socket now."""
        if channel_id is None:
            victims = [c for c in self.channels.values() if c.session is not None]
        else:
            ch = self.channels.get(channel_id)
            victims = [] if ch is None else [ch]
        for ch in victims:
            self._evict(ch)
        return len(victims)


def _missing(permission: str) -> str:
    return (
        f"Unable to perform the requested action. You are missing the following permission(s): [{permission}]"
    )


def _parse_iso(text: str) -> int:
    """Parse an ISO-8601 instant into epoch ms (``Z`` or an offset)."""
    dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)
