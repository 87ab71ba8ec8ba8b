"""POST a deletion request to an HTTPS endpoint: bearer token, Idempotency-Key, bounded retries.

One logical request may take several attempts; every attempt carries the same
Idempotency-Key (derived from the request id in the ledger), so the server can count it
once. Retried: connection errors, 429 and 5xx, honouring Retry-After (seconds or an
HTTP-date). Not retried: any other status. Redirects are not followed (a redirect
must not carry the bearer token to another host).
"""

import email.utils
import http.client
import ssl
import time
from urllib.parse import urlsplit

from usagectl import __version__
from usagectl.core.sanitize import safe_text
from usagectl.deletion.errors import DeliveryError

MAX_ATTEMPTS = 4
MAX_TOTAL_SECONDS = 60.0
BACKOFF_SECONDS = (1.0, 2.0, 4.0)


def retry_after_seconds(value, now=None):
    """Seconds from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    import datetime

    now = now or datetime.datetime.now(datetime.timezone.utc)
    return max(0.0, (when - now).total_seconds())


def _attempt(parts, body, headers, context, timeout):
    conn = http.client.HTTPSConnection(parts.hostname, parts.port or 443, timeout=timeout, context=context)
    try:
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read(4096).decode("utf-8", "replace")
        return response.status, response.getheader("Retry-After"), text
    finally:
        conn.close()


def post(url, body, token, idempotency_key, settings, sleep=time.sleep, clock=time.monotonic,
         on_attempt=None):
    """Deliver ``body`` (JSON bytes). Returns a dict with the final status and a reply snippet."""
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise DeliveryError("refusing to POST to %s: only https:// URLs are allowed" % safe_text(url),
                            refused=True)
    context = ssl.create_default_context(cafile=settings.cafile) if settings.cafile \
        else ssl.create_default_context()
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "Idempotency-Key": idempotency_key,
        "User-Agent": "usagectl/%s" % __version__,
    }
    if token:
        headers["Authorization"] = "Bearer " + token
    start = clock()
    last = None
    for number in range(1, MAX_ATTEMPTS + 1):
        if on_attempt:
            on_attempt(number)
        remaining = MAX_TOTAL_SECONDS - (clock() - start)
        retry_after = None
        try:
            status, retry_after_header, text = _attempt(parts, body, headers, context,
                                                        max(1.0, min(settings.timeout, remaining)))
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError("the certificate of %s failed verification (%s); nothing was sent"
                                % (parts.hostname, safe_text(exc.verify_message or exc)), refused=True)
        except ValueError as exc:
            # http.client refuses a header value with CR/LF and quotes it in the message: a
            # token there would be printed. Name the type only; nothing was sent.
            raise DeliveryError("refusing to POST: a header value is invalid (%s); nothing was sent"
                                % type(exc).__name__, refused=True) from None
        except (OSError, http.client.HTTPException) as exc:
            last = "attempt %d: %s" % (number, safe_text(str(exc) or type(exc).__name__)[:200])
        else:
            reply = {"status": status, "body": safe_text(text)[:500], "attempts": number}
            if 200 <= status < 300:
                return reply
            last = "attempt %d: HTTP %d %s" % (number, status, safe_text(text)[:200])
            if status != 429 and status < 500:
                raise DeliveryError("%s answered HTTP %d (not retried): %s"
                                    % (parts.hostname, status, safe_text(text)[:200]))
            retry_after = retry_after_seconds(retry_after_header)
        if number == MAX_ATTEMPTS:
            break
        delay = retry_after if retry_after is not None else BACKOFF_SECONDS[min(number - 1, 2)]
        if clock() - start + delay > MAX_TOTAL_SECONDS:
            raise DeliveryError("gave up after %d attempt(s): the next one would pass the %d s limit "
                                "(%s)" % (number, MAX_TOTAL_SECONDS, last), maybe_delivered=True)
        sleep(delay)
    raise DeliveryError("gave up after %d attempts (%s)" % (MAX_ATTEMPTS, last), maybe_delivered=True)
