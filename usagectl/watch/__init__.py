"""`usagectl verify --run`: run a command with its Python processes watched for telemetry.

- ``endpoints``: the one list of telemetry endpoints (adapters' plus the user's).
- ``audit``: the audit hook each watched process installs (stdlib only, loaded by path).
- ``sitecustomize/``: the directory put first on PYTHONPATH; loads ``audit``.
- ``run``: ``run_watched(env, argv, timeout=None) -> WatchReport``.

No imports here: the CLI imports ``usagectl.watch.run`` only when --run is used.
"""
