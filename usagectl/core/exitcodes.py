"""Exit statuses, one documented enum (docs/exit-codes.md). Scripts may rely on them."""

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    #: Something went wrong that is not the user's input (I/O error, lock held too long).
    ERROR = 1
    #: Bad command line or bad input file (click's usage errors use 2 as well).
    USAGE = 2
    #: The system policy forbids the requested mode.
    POLICY_REFUSED = 3
    #: The consent or policy file can't be read or parsed; everything is treated as off.
    CONSENT_DAMAGED = 4
    #: `usagectl verify` found a check that failed.
    VERIFY_FAILED = 5
    #: A framework's own settings file is damaged and was left alone (pass --repair).
    FRAMEWORK_FILE_DAMAGED = 6
    #: `usagectl verify` could not tell whether opt-out holds (a check is unknown) and
    #: --allow-unknown was not given.
    VERIFY_UNKNOWN = 7
    #: Root refused a path: a link below a system root, or a file, directory or interpreter
    #: that another user owns or can write (docs/security.md).
    UNSAFE_PATH = 8
    #: `usagectl sync` ran, and a framework still does more than the consent allows (a file
    #: or variable no usagectl command changes): the warning names it and the edit.
    NOT_REPAIRED = 9
    #: Interrupted with Ctrl-C (128 + SIGINT).
    INTERRUPTED = 130
