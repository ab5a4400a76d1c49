"""``gcstream simulate``: run the simulator until SIGINT/SIGTERM.

The first line of stdout is the base URL (``http://127.0.0.1:PORT``) so scripts can read it;
stderr then lists the queue ids it serves and a ``gcstream run`` line pointed at it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import Final

from .config import OAuthClient, SimulatorConfig
from .faults import FaultPlan

DEFAULT_CLIENT_SECRET: Final = "sim-secret"
"""The simulator's well-known test secret (it guards nothing but loopback test traffic)."""


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a TCP port number, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0-65535 (0 picks a free one), got {port}")
    return port


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``simulate`` options to ``parser``."""
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=0, help="TCP port; 0 picks a free one")
    parser.add_argument("--client-id", default="sim-client", help="OAuth client id")
    parser.add_argument(
        "--client-secret",
        default=DEFAULT_CLIENT_SECRET,
        help=f"OAuth client secret (default {DEFAULT_CLIENT_SECRET})",
    )
    parser.add_argument("--expires-in", type=int, default=86399, help="token lifetime in seconds")
    parser.add_argument("--conversations", type=int, default=5, help="concurrent calls")
    parser.add_argument("--max-conversations", type=int, default=None, help="total calls (default: endless)")
    parser.add_argument(
        "--rate", type=float, default=None, help="messages per second (default: real time; 0 = unlimited)"
    )
    parser.add_argument("--seed", type=int, default=0, help="makes calls, ids and PII deterministic")
    parser.add_argument("--time-scale", type=float, default=1.0, help="simulated seconds per real second")
    parser.add_argument("--heartbeat-interval", type=float, default=30.0, help="seconds between heartbeats")
    parser.add_argument(
        "--conversation-duration", type=float, default=180.0, help="simulated call length (s)"
    )
    parser.add_argument("--faults", default=None, help="e.g. drop:every=30s,dup:p=0.05,429:burst=20")
    parser.add_argument("--ground-truth", default=None, metavar="PATH", help="write sent utterances as JSONL")


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    """Build a :class:`SimulatorConfig` from parsed arguments.

    Raises:
        ValueError: On an invalid fault spec or value.
    """
    cfg = SimulatorConfig(
        host=args.host,
        port=args.port,
        seed=args.seed,
        clients=(OAuthClient(args.client_id, args.client_secret, expires_in=args.expires_in),),
        conversations=args.conversations,
        max_conversations=args.max_conversations,
        rate=args.rate,
        time_scale=args.time_scale,
        heartbeat_interval=args.heartbeat_interval,
        conversation_duration=args.conversation_duration,
        faults=FaultPlan.parse(args.faults),
        ground_truth_path=args.ground_truth,
    )
    cfg.validate()
    return cfg


async def _serve(cfg: SimulatorConfig) -> None:
    from . import Simulator

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with Simulator(cfg) as sim:
        print(sim.base_url, flush=True)
        client_id = cfg.clients[0].client_id
        queues = ",".join(sim.directory.queue_ids)
        # How to point `gcstream run` at it: calls are found through their queues, whose ids are
        # made up here. The secret is not echoed (secrets are never printed); the user gave it.
        print(
            f"client_id={client_id} queues={len(sim.directory.queue_ids)} "
            f"agents={len(sim.directory.user_ids)} seed={cfg.seed}\n"
            f"queue ids: {queues}\n"
            "ingest it with:\n"
            f"  GENESYS_CLOUD_BASE_URL={sim.base_url} GENESYS_CLOUD_CLIENT_ID={client_id} \\\n"
            f"  GENESYS_CLOUD_QUEUES={queues} \\\n"
            "  GENESYS_CLOUD_CLIENT_SECRET=... gcstream run\n"
            f"(... is the --client-secret: {DEFAULT_CLIENT_SECRET} unless one was given)",
            file=sys.stderr,
            flush=True,
        )
        await stop.wait()


def run(args: argparse.Namespace) -> int:
    """Run the simulator until SIGINT/SIGTERM; returns the exit status."""
    try:
        cfg = config_from_args(args)
    except ValueError as e:
        print(f"gcstream simulate: {e}", file=sys.stderr)
        return 2
    asyncio.run(_serve(cfg))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m gcstream.simulator``."""
    parser = argparse.ArgumentParser(prog="gcstream simulate", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))
