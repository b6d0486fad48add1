"""The sandbox ticketing API and the fake Slack Web API in a process of their own, so the load
generator, the bot and the stubs do not share one interpreter.

    python bench/stubs.py --sandbox-port 8010 --slack-port 8011 --latency 0.15
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import FakeSlack


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sandbox-port", type=int, required=True)
    parser.add_argument("--slack-port", type=int, required=True)
    parser.add_argument("--latency", type=float, default=0.15)
    parser.add_argument("--enforce-rate", help="answer 429 past N requests per S seconds per account: N/S")
    args = parser.parse_args()
    sandbox = SandboxServer(port=args.sandbox_port)
    sandbox.start()
    sandbox.state.latency = args.latency
    if args.enforce_rate:
        requests, seconds = args.enforce_rate.split("/")
        sandbox.state.rate_limit = (int(requests), float(seconds))
    slack = FakeSlack(port=args.slack_port)
    slack.start()
    slack.state.emails = {"U0ANA": "ana@acme.example"}
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    slack.stop()
    sandbox.stop()


if __name__ == "__main__":
    main()
