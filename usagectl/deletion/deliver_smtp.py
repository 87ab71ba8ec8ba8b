"""Send a deletion request by e-mail: STARTTLS with certificate verification, then AUTH.

Nothing is authenticated (or sent) over a connection that is not encrypted and verified:
a server that doesn't offer STARTTLS, or whose certificate fails verification, is refused
before AUTH, and before the message itself, which carries identifiers.
"""

import smtplib
import socket
import ssl

from usagectl.core.sanitize import safe_text
from usagectl.deletion.errors import DeliveryError

#: Our EHLO name. smtplib's default (socket.getfqdn()) can stall on DNS and tells the
#: server the machine's name, which a deletion request has no reason to disclose.
EHLO_NAME = "localhost"


def tls_context(cafile=None):
    # create_default_context verifies the certificate chain and the host name.
    return ssl.create_default_context(cafile=cafile) if cafile else ssl.create_default_context()


def _reply(code, text):
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return safe_text("%d %s" % (code, text))[:300]


def send(settings, password, message_bytes, recipient):
    """Deliver ``message_bytes`` to ``recipient``; returns the server's reply to DATA."""
    where = "%s:%d" % (settings.host, settings.port)
    try:
        smtp = smtplib.SMTP(settings.host, settings.port, local_hostname=EHLO_NAME,
                            timeout=settings.timeout)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError("cannot connect to the SMTP server %s (%s)" % (where, _brief(exc)))
    try:
        return _session(smtp, settings, password, message_bytes, recipient, where)
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def _brief(exc):
    return safe_text(getattr(exc, "strerror", None) or str(exc) or type(exc).__name__)[:200]


def _session(smtp, settings, password, message_bytes, recipient, where):
    try:
        smtp.ehlo()
        if not smtp.has_extn("starttls"):
            raise DeliveryError("the SMTP server %s does not offer STARTTLS; refusing to log in or "
                                "send over an unencrypted connection" % where, refused=True)
        try:
            smtp.starttls(context=tls_context(settings.cafile))
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError("the certificate of the SMTP server %s failed verification (%s); "
                                "refusing to log in" % (where, safe_text(exc.verify_message or exc)),
                                refused=True)
        except ssl.SSLError as exc:
            raise DeliveryError("TLS with the SMTP server %s failed (%s); refusing to log in"
                                % (where, _brief(exc)), refused=True)
        smtp.ehlo()
        if settings.username:
            try:
                smtp.login(settings.username, password)
            except smtplib.SMTPAuthenticationError as exc:
                raise DeliveryError("the SMTP server %s rejected the login for %s (%s)"
                                    % (where, safe_text(settings.username), _reply(exc.smtp_code, exc.smtp_error)))
            except smtplib.SMTPNotSupportedError:
                raise DeliveryError("the SMTP server %s offers no AUTH after STARTTLS" % where)
        code, text = smtp.mail(settings.sender)
        if code != 250:
            raise DeliveryError("the SMTP server %s refused the sender: %s" % (where, _reply(code, text)))
        code, text = smtp.rcpt(recipient)
        if code not in (250, 251):
            raise DeliveryError("the SMTP server %s refused the recipient: %s" % (where, _reply(code, text)))
        try:
            code, text = smtp.data(message_bytes)
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            raise DeliveryError("the connection to %s broke during DATA (%s); the message may or may "
                                "not have been accepted" % (where, _brief(exc)), maybe_delivered=True)
        if code != 250:
            raise DeliveryError("the SMTP server %s refused the message: %s" % (where, _reply(code, text)))
        return {"server": where, "reply": _reply(code, text)}
    except DeliveryError:
        raise
    except (OSError, smtplib.SMTPException, socket.timeout) as exc:
        raise DeliveryError("SMTP with %s failed (%s)" % (where, _brief(exc)))
