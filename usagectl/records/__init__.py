"""What each framework actually sent (or tried to send): payload records read from disk.

Each framework reads its own files (``Framework.scan_records`` and
``follow_source``, in its home); the sent ledger (usagectl._ledger, written by the
runtime hook) is read by usagectl.core.ledger_scan. ``collect`` merges them for
`usagectl show-last` and `verify`; ``follow`` watches them for ``--follow``.
"""
