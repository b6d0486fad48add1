"""A local stand-in for the unified ticketing API, with two tool profiles (Jira-like, Linear-like).

Used by `ticketbot demo`, the tests and the benchmarks, over real HTTP on loopback.
"""

from bot.sandbox.app import Fault, SandboxState, create_sandbox_app
from bot.sandbox.profiles import PROFILES, Profile
from bot.sandbox.server import SandboxServer

SANDBOX_TOKEN = "sandbox-token"  # noqa: S105 - a fixed, public token for the local sandbox

__all__ = [
    "PROFILES",
    "SANDBOX_TOKEN",
    "Fault",
    "Profile",
    "SandboxServer",
    "SandboxState",
    "create_sandbox_app",
]
