"""Which client a request through proxies comes from: the nearest address its trusted proxies
name, never one the client wrote itself."""

from __future__ import annotations

from bot.slack.http_protocol import TrustedProxies


def test_the_nearest_untrusted_hop_is_the_client() -> None:
    proxies = TrustedProxies("10.0.0.0/8, 127.0.0.1")
    assert "10.2.3.4" in proxies and "127.0.0.1" in proxies and "203.0.113.9" not in proxies
    # The client wrote 198.51.100.1 itself; the load balancer (10.0.0.5) saw 203.0.113.9.
    assert proxies.client_of("198.51.100.1, 203.0.113.9, 10.0.0.5", "10.0.0.7") == "203.0.113.9"
    assert proxies.client_of("", "10.0.0.7") == "10.0.0.7"  # no header: the proxy itself
    assert proxies.client_of("10.0.0.5", "10.0.0.7") == "10.0.0.7"


def test_star_trusts_every_peer_and_nonsense_is_nobody() -> None:
    assert "192.0.2.1" in TrustedProxies("*")
    proxies = TrustedProxies("127.0.0.1")
    assert "not-an-address" not in proxies
    assert proxies.client_of("unix:/tmp/x", "127.0.0.1") == "unix:/tmp/x"
