"""Prometheus metrics, one registry per app (so several apps can live in one process)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily


class Metrics:
    """The arena's metrics. Counters are incremented by the transports; gauges are read at scrape."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.connections = Gauge(
            "arena_socket_connections", "Open Socket.IO connections", ["namespace"], registry=r
        )
        self.events_in = Counter(
            "arena_socket_events_in", "Socket.IO events received", ["namespace", "event"], registry=r
        )
        self.events_out = Counter(
            "arena_room_events_out", "Room events published to clients", ["kind"], registry=r
        )
        self.slow_watchers = Counter(
            "arena_slow_watchers", "Watchers dropped from live delivery for falling behind", ["kind"], registry=r
        )
        self.pubsub_room_bytes = Counter(
            "arena_pubsub_room_bytes", "Room-channel bytes read from Redis pub/sub, by who published them",
            ["source"], registry=r
        )
        for source in ("own", "other"):
            self.pubsub_room_bytes.labels(source)  # listed at 0 from the start
        self.errors = Counter("arena_errors", "Errors answered, by code", ["transport", "code"], registry=r)
        self.request_latency = Histogram(
            "arena_http_request_seconds",
            "REST request latency",
            ["method", "route", "status"],
            registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.event_latency = Histogram(
            "arena_socket_event_seconds",
            "Socket.IO event handling latency",
            ["namespace", "event"],
            registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )

    def watch_pool(self, size: Callable[[], int], idle: Callable[[], int], maximum: int) -> None:
        """Expose DB pool usage, read when scraped."""

        class _Pool:
            def collect(self):
                g = GaugeMetricFamily("arena_db_pool_connections", "DB pool connections", labels=["state"])
                s, i = size(), idle()
                g.add_metric(["in_use"], s - i)
                g.add_metric(["idle"], i)
                g.add_metric(["max"], maximum)
                yield g

        self.registry.register(_Pool())

    def render(self) -> bytes:
        return generate_latest(self.registry)
