"""Fixtures: the real servers of ``services``."""

from sinks.services import influxd, nats_server, victoria, webhook

__all__ = ["influxd", "nats_server", "victoria", "webhook"]
