"""The fault suite drives the same app as the scenario tests."""

from tests.scenarios.conftest import harness

__all__ = ["harness"]
