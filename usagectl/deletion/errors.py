"""How a delivery can end badly, said in one line that never holds a secret."""


class DeliveryError(Exception):
    """A request was not delivered. ``refused``: usagectl itself refused to go on (no
    STARTTLS, a certificate that failed verification) before sending any credential."""

    def __init__(self, reason, refused=False, maybe_delivered=False):
        Exception.__init__(self, reason)
        self.reason = reason
        self.refused = refused
        self.maybe_delivered = maybe_delivered
