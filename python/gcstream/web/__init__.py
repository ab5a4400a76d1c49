"""The web side of gcstream: the live-captions page, its SSE stream, ``/metrics`` and ``/healthz``.

::

    hub = CaptionsHub(stats=engine.stats)
    server = WebServer(hub, metrics)
    url = await server.start("127.0.0.1", 8765)
    hub.publish(records)              # every redacted record, as it comes

Next: open ``url`` in a browser; scrape ``url + "/metrics"``.
"""

from __future__ import annotations

from gcstream.web.app import STATIC_DIR, WebServer, build_app
from gcstream.web.captions import CaptionsHub, Subscription, caption_of, speaker_of

__all__ = ["STATIC_DIR", "CaptionsHub", "Subscription", "WebServer", "build_app", "caption_of", "speaker_of"]
