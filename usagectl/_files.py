"""Reading a file without ever blocking on it (for usagectl's own readers).

The code lives in the consent reader (usagectl/consent.py), which needs it and must stay
one importable, vendorable file; usagectl's other readers use the same functions.
"""

from .consent import NotRegular, TooLarge, open_regular, read_regular

__all__ = ["NotRegular", "TooLarge", "open_regular", "read_regular"]
