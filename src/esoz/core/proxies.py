"""Who the client is: the TCP peer, unless the peer is a proxy the deployment names as trusted.

Per-IP limits, lockouts and audit rows key on the client's address. `X-Forwarded-For` is written by whoever sends
the request, so it is read only when the peer itself is a trusted proxy (ESOZ_TRUSTED_PROXIES; none by default),
and then from the right: the nearest address that is not a trusted proxy is the client, and whatever a client wrote
further left is never taken over it. A loopback peer is not trusted for being local: anything on the host (or
anything the host forwards) would otherwise choose its own address.
"""

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or CIDRs ("10.0.0.5", "10.0.0.0/8", "::1"); raises ValueError on anything else."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def _address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def _trusted(address: Address | None, networks: tuple[Network, ...]) -> bool:
    return address is not None and any(address in network for network in networks)


def forwarded_client(peer: str | None, forwarded_for: str | None, networks: tuple[Network, ...]) -> str | None:
    """The client's address told by a trusted proxy, or None when the peer's own address stands."""
    if not networks or peer is None or not forwarded_for or not _trusted(_address(peer), networks):
        return None
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:  # not an address (a name, "unknown", garbage): nothing left of it can be trusted
            return None
        if not _trusted(address, networks):
            return str(address)
    first = _address(hops[0]) if hops else None  # every hop is a trusted proxy: the farthest one asked
    return None if first is None else str(first)


def peer_is_trusted(peer: str | None, networks: tuple[Network, ...]) -> bool:
    return bool(networks) and peer is not None and _trusted(_address(peer), networks)
