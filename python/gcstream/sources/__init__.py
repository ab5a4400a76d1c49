"""Frame sources: the Notifications API and seed-style WebSocket streams (see ``base.Source``)."""

from gcstream.sources.base import Frame, FrameBuffer, Source
from gcstream.sources.notifications import NotificationsSource
from gcstream.sources.seed import SeedSource, SeedStream

__all__ = ["Frame", "FrameBuffer", "NotificationsSource", "SeedSource", "SeedStream", "Source"]
