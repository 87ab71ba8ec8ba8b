"""Did the bytes reach the server? Three answers: delivered, not delivered, unknown.

Any HTTP response means the server received the request body: a report answered 500 was
*delivered* (the server holds the data), even though the sender calls it a failure. Only
an error raised before the request was written (connection refused, DNS failure, a
connect timeout) means *not delivered*. Anything else (a read timeout, a reset after
sending, a message we don't recognise) is *unknown*, and is never shown as either.

The patterns are those of Python's HTTP clients (requests/urllib3, http.client), which
the frameworks use; each framework's records decide which of its errors they apply to.
"""

from __future__ import annotations

import re

DELIVERED = "delivered"
NOT_DELIVERED = "not-delivered"
UNKNOWN = "unknown"
STATES = (DELIVERED, NOT_DELIVERED, UNKNOWN)

# requests' HTTPError from raise_for_status(): "500 Server Error: Internal Server Error for url: ..."
_HTTP_STATUS = re.compile(r"^\s*(?:[A-Za-z_.]*Error: )?(\d{3}) (?:Client|Server) Error\b.*?(?: for url: (\S+))?\s*$",
                          re.S)
# Raised before any byte of the request left: nothing was delivered.
_BEFORE_SENDING = (
    "Connection refused", "Failed to establish a new connection", "NewConnectionError",
    "Name or service not known", "Temporary failure in name resolution", "NameResolutionError",
    "nodename nor servname provided", "getaddrinfo failed", "No address associated with hostname",
    "Network is unreachable", "No route to host", "ConnectTimeout", "connect timeout",
    "CERTIFICATE_VERIFY_FAILED", "SSLCertVerificationError", "wrong version number",
)
_POOL = re.compile(r"HTTPS?ConnectionPool\(host='([^']*)', port=(\d+)\)")
_URL_IN_POOL_ERROR = re.compile(r"with url: (\S+)")


def classify_http_error(text: str | None) -> tuple[str, int | None, str | None]:
    """(delivery state, HTTP status or None, URL or None) from an HTTP client's error text."""
    if not text:
        return UNKNOWN, None, None
    match = _HTTP_STATUS.match(text)
    if match:
        return DELIVERED, int(match.group(1)), match.group(2)
    url = None
    pool = _POOL.search(text)
    if pool:
        path = _URL_IN_POOL_ERROR.search(text)
        scheme = "https" if "HTTPSConnectionPool" in text else "http"
        url = "%s://%s:%s%s" % (scheme, pool.group(1), pool.group(2), path.group(1) if path else "")
    if any(marker in text for marker in _BEFORE_SENDING):
        return NOT_DELIVERED, None, url
    return UNKNOWN, None, url


def describe(delivery: str | None, http_status: int | None = None) -> str:
    """Words for humans: never "not sent" for what a server received."""
    if delivery == DELIVERED:
        if http_status is not None and not 200 <= http_status < 300:
            return "DELIVERED (HTTP %d: the server answered with an error, after receiving the data)" % http_status
        return "delivered" if http_status is None else "delivered (HTTP %d)" % http_status
    if delivery == NOT_DELIVERED:
        return "NOT delivered (it failed before the request reached the server)"
    return "delivery unknown"
