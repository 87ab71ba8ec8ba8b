"""Where usagectl keeps its files: stdlib only, cheap, and in step with platformdirs.

The locations the consent reader needs live in the reader itself (usagectl/consent.py,
which frameworks import or vendor as one file); this module adds usagectl's own files
on top of them. Tests check that every location agrees with platformdirs. Every
location can be moved with a ``USAGECTL_*`` environment variable.
"""

import os

from .consent import (  # noqa: F401  (re-exported: one place for each location)
    APP,
    CONSENT_FILE_NAME,
    POLICY_FILE_NAME,
    _home,
    consent_path,
    policy_path,
    site_config_dir,
    user_config_dir,
    user_state_dir,
)

#: usagectl's own settings ([search], [deletion.*], [verify]): never part of the decision.
SETTINGS_FILE_NAME = "settings.toml"
HISTORY_FILE_NAME = "history.jsonl"


def settings_path(environ=None):
    return os.path.join(user_config_dir(environ), SETTINGS_FILE_NAME)


def history_path(environ=None):
    return os.path.join(user_state_dir(environ), HISTORY_FILE_NAME)
