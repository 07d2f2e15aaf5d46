"""What a simulated host's network does with a connection: resolve, connect, TLS, HTTP, directly or through a proxy.

A host's ``network`` state says what is not ordinary (everything else resolves to a documentation address, connects,
presents a certificate that chains to a public root and answers 200):

- ``unresolvable``: names the host's resolver does not answer (``*`` for all); names under ``.invalid`` never resolve.
- ``cnames``: a name's CNAME target (a filtering resolver that sends names to its block page, say).
- ``blocked``: ``host:port`` pairs (``*`` on either side) a firewall drops on direct connections.
- ``tls_inspection``: ``{"ca": name, "trusted": bool}`` for a firewall that intercepts direct TLS with its own CA.
- ``proxies``: the proxy servers that exist, by ``host:port``, each with ``requires_auth`` (answers 407 to a client
  without a user's logon; with ``refuses_users`` to a signed-in user's too),
  ``blocks_agents`` (user agents it answers 403) and ``tls_inspection`` as above. A proxy not listed does not answer.

Certificates are illustrative: the names are real CA names, the thumbprints are derived from them, not real.
"""
from __future__ import annotations

import hashlib
from typing import Any

LOOPBACK = ("127.0.0.1", "localhost", "::1")
LISTENING = (5985, 5986)
PUBLIC_ROOT = "DigiCert Global Root G2"
PUBLIC_ISSUER = "Microsoft Azure RSA TLS Issuing CA 04"
# ERROR_WINHTTP_* (winhttp.h)
WINHTTP_TIMEOUT, WINHTTP_NAME_NOT_RESOLVED, WINHTTP_CANNOT_CONNECT, WINHTTP_SECURE_FAILURE = 12002, 12007, 12029, 12175
# ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED: the server asked for a client certificate.
WINHTTP_CLIENT_AUTH_CERT_NEEDED = 12044


def network(state: dict[str, Any]) -> dict[str, Any]:
    return state.get("network") or {}


def resolves(state: dict[str, Any], name: str) -> bool:
    unresolvable = {item.lower() for item in network(state).get("unresolvable", [])}
    return not ({"*", name.lower()} & unresolvable) and not name.lower().rstrip(".").endswith(".invalid")


def canonical_name(state: dict[str, Any], name: str) -> str:
    """Where a name's CNAME chain ends (``cnames``: name to target); the name itself when it has none."""
    cnames = {key.lower(): value for key, value in (network(state).get("cnames") or {}).items()}
    return str(cnames.get(name.lower(), name))


def blocked(state: dict[str, Any], name: str, port: int) -> bool:
    rules = {item.lower() for item in network(state).get("blocked", [])}
    return bool({f"{name.lower()}:{port}", f"*:{port}", f"{name.lower()}:*"} & rules)


def connect_error(state: dict[str, Any], name: str, port: int) -> str | None:
    """The SocketError name of a direct TCP connection, or None when it connects."""
    if not resolves(state, name):
        return "HostNotFound"
    if name.lower() in LOOPBACK and port not in LISTENING:
        return "ConnectionRefused"
    if blocked(state, name, port):
        return "TimedOut"
    return None


def _certificate(common_name: str, issuer: str) -> dict[str, Any]:
    return {"subject": f"CN={common_name}", "issuer": f"CN={issuer}", "common_name": common_name,
            "thumbprint": hashlib.sha1(f"{common_name}|{issuer}".encode()).hexdigest().upper(), "not_after": "2027-06-30T23:59:59Z"}


def chain_for(name: str, inspection: dict[str, Any] | None, root_missing: bool = False) -> tuple[list[dict[str, Any]], list[str]]:
    """The chain the host builds for ``name``'s certificate, and its status flags; ``root_missing``: the host's store
    lacks the public root (automatic root update off), so the chain stops at the issuing CA, flagged PartialChain."""
    if inspection:
        ca = inspection["ca"]
        chain = [_certificate(name, ca), _certificate(ca, ca)]
        return chain, ([] if inspection.get("trusted") else ["UntrustedRoot"])
    if root_missing:
        return [_certificate(name, PUBLIC_ISSUER), _certificate(PUBLIC_ISSUER, PUBLIC_ROOT)], ["PartialChain"]
    return [_certificate(name, PUBLIC_ISSUER), _certificate(PUBLIC_ISSUER, PUBLIC_ROOT), _certificate(PUBLIC_ROOT, PUBLIC_ROOT)], []


def split_proxy(proxy: str) -> tuple[str, int]:
    server, port = proxy.rsplit(":", 1)
    return server, int(port)


def proxy_server(setting: str) -> str:
    """The server a WinHTTP proxy string sends HTTPS to: ``https=`` of a per-scheme list, else the plain entry."""
    entries = [item.strip() for item in setting.split(";") if item.strip()]
    for entry in entries:
        if entry.lower().startswith("https="):
            return entry.split("=", 1)[1]
    plain = [entry for entry in entries if "=" not in entry]
    return plain[0] if plain else entries[0].split("=", 1)[-1]


# SEC_E_ALGORITHM_MISMATCH: the client and server cannot communicate, because they do not possess a common algorithm.
SEC_E_ALGORITHM_MISMATCH = -2146893007


def tls_handshake(state: dict[str, Any], name: str, port: int, proxy: str | None, timeout: int, tls12: bool = True) -> dict[str, Any]:
    """A TLS 1.2 handshake; ``tls12`` is whether SCHANNEL may negotiate it (the servers here speak nothing older)."""
    result: dict[str, Any] = {"host": name, "port": port, "ok": False, "error": None, "error_code": 0, "elapsed_ms": 8}
    if proxy:
        result["proxy"] = proxy
        server, proxy_port = split_proxy(proxy)
        config = (network(state).get("proxies") or {}).get(proxy.lower())
        error = connect_error(state, server, proxy_port) or (None if config else "TimedOut")
        if error:
            return {**result, "error": error, "elapsed_ms": timeout if error == "TimedOut" else 3}
        status = 407 if config.get("requires_auth") else (403 if "MSOIDCRL" in config.get("blocks_agents", []) else 200)
        result["proxy_status"] = status
        if status != 200:
            return {**result, "error": "ProxyRefused"}
        inspection = config.get("tls_inspection")
    else:
        error = connect_error(state, name, port)
        if error:
            return {**result, "error": error, "elapsed_ms": timeout if error == "TimedOut" else 3}
        inspection = network(state).get("tls_inspection")
    if not tls12:
        return {**result, "error": "HandshakeFailed", "error_code": SEC_E_ALGORITHM_MISMATCH}
    chain, flags = chain_for(name, inspection, bool(network(state).get("root_missing")))
    return {**result, "ok": True, "protocol": "Tls12", "chain": chain, "chain_status": flags,
            "policy_errors": "RemoteCertificateChainErrors" if flags else "None"}


def http_request(state: dict[str, Any], url: str, agent: str, proxy: str, timeout: int, tls12: bool = True,
                 credentials: bool = False) -> dict[str, Any]:
    """One GET as WinHTTP does it; ``proxy`` is ``direct`` or a proxy server host:port (the caller resolves ``default``);
    ``tls12`` is whether WinHTTP offers TLS 1.2, which every HTTPS endpoint here requires; ``credentials`` whether the
    client answers a proxy's 407 with a user's logon (a signed-in user's session does, the management logon cannot)."""
    scheme, rest = url.split("://", 1)
    authority = rest.split("/", 1)[0]
    name, port_text = (authority.split(":", 1) + [""])[:2]
    port = int(port_text) if port_text else (443 if scheme == "https" else 80)

    def answer(status: int = 0, code: int = 0, elapsed: int = 12) -> dict[str, Any]:
        return {"url": url, "ok": status > 0, "status": status, "error": "WinHttpError" if code else None, "error_code": code,
                "elapsed_ms": elapsed}

    if proxy == "direct":
        error = connect_error(state, name, port)
        if error == "HostNotFound":
            return answer(code=WINHTTP_NAME_NOT_RESOLVED, elapsed=3)
        if error:
            return answer(code=WINHTTP_TIMEOUT if error == "TimedOut" else WINHTTP_CANNOT_CONNECT, elapsed=timeout)
        inspection, status = network(state).get("tls_inspection"), 200
    else:
        server, proxy_port = split_proxy(proxy)
        config = (network(state).get("proxies") or {}).get(proxy.lower())
        if not resolves(state, server):
            return answer(code=WINHTTP_NAME_NOT_RESOLVED, elapsed=3)
        if config is None or blocked(state, server, proxy_port):
            return answer(code=WINHTTP_CANNOT_CONNECT, elapsed=timeout)
        asks = config.get("requires_auth") and (not credentials or config.get("refuses_users"))
        status = 407 if asks else (403 if agent in config.get("blocks_agents", []) else 200)
        inspection = config.get("tls_inspection")
        if scheme == "https" and status == 200 and config.get("client_certificate"):
            # The proxy asks for a client certificate and refuses the request the agent sends again without one.
            return answer(code=WINHTTP_CLIENT_AUTH_CERT_NEEDED)
    if scheme != "https" or status != 200:
        return answer(status)
    if not tls12:
        return answer(code=WINHTTP_SECURE_FAILURE)
    chain, flags = chain_for(name, inspection, bool(network(state).get("root_missing")))
    if flags:
        # WinHTTP refuses a chain to an untrusted root: the request fails in the TLS stage.
        return answer(code=WINHTTP_SECURE_FAILURE)
    return {**answer(status), "chain": chain, "chain_status": flags}
