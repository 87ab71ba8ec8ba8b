"""The runtime hook: makes Ray, Parsl and Coiled honour the consent file as they run.

Two halves with different rules:

- ``runtime``: the code a ``usagectl-hook.pth`` file loads into *every* interpreter
  of an environment. Stdlib only, nearly free at start-up (it only adds an import
  watcher), reads the consent file only when a watched framework is imported, and
  never raises into the host program.
- ``installer``: what ``usagectl hook install|uninstall|status`` does: find the
  environment's site-packages, write or remove exactly our one ``.pth`` file, and
  say whether the one there is current.

This package's ``__init__`` stays empty of imports: the installer is imported by
the CLI, the runtime is loaded by file path.
"""
