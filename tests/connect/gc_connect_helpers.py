"""Helpers for simulator-backed connectivity tests."""

from __future__ import annotations

import time
from typing import Any

from gcstream.settings import GenesysSettings, load_settings
from gcstream.simulator import Simulator

HEARTBEAT = 0.4
BACKOFF = {"initial": 0.05, "maximum": 1.0, "multiplier": 2.0, "jitter": 0.5}


def settings_for(sim: Simulator, tmp_path: Any, **over: Any) -> GenesysSettings:
    """Settings pointing at the simulator, with fast watchdog/backoff timings."""
    base: dict[str, Any] = {
        "base_url": sim.base_url,
        "client_id": "sim-client",
        "client_secret": "sim-secret",
        "queues": list(sim.directory.queue_ids),
        "watchdog": {"interval": HEARTBEAT, "open_timeout": 3.0},
        "backoff": BACKOFF,
        "unsubscribe_linger": 1.0,
        "subscribe_debounce": 0.02,
        "channel_state_path": str(tmp_path / "channels.json"),
    }
    base.update(over)
    return load_settings(env={}, **base)


class SentTracker:
    """Records which utterances the simulator queued to a live socket ("sent while subscribed").

    An utterance counts as sent if it was queued to a socket that was neither dropped (TCP reset:
    what was in flight is lost by definition) nor stalled and then discarded.
    """

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.sent: list[tuple[tuple[str, str], float, list[tuple[Any, float]]]] = []
        sim.platform.listeners.add(self._listener)

    def _listener(self, conv: Any, em: Any) -> None:
        if not em.utterances:
            return
        chans = self.sim.platform.subs.get(em.topic) or ()
        sessions = [(ch.session, ch.session.stall_until) for ch in chans if ch.session is not None]
        now = time.monotonic()
        for u in em.utterances:
            self.sent.append(((conv.conversation_id, u.utterance_id), now, sessions))

    def expected(self) -> set[tuple[str, str]]:
        keys: set[tuple[str, str]] = set()
        for key, t, sessions in self.sent:
            for s, stall_until in sessions:
                if s.stats.close_reason == "dropped":
                    continue
                if stall_until > t and s.stats.closed_at is not None:
                    continue
                keys.add(key)
        return keys

    def truth(self) -> set[tuple[str, str]]:
        return {(g["conversationId"], g["utteranceId"]) for g in self.sim.ground_truth}
