"""Gather each framework's last payloads from every source, ledger first."""

import glob

from usagectl.records import ledger_scan, model, parsl_log, ray_sessions

#: What Bacalhau and Coiled send, for the frameworks that keep no local record
#: (facts from ../shared/FRAMEWORKS.md, checked against their code).
NO_LOCAL_RECORD = {
    "bacalhau": [
        "Bacalhau keeps no local record of what it sends: there is no log of payloads to show.",
        "What it sends: only `bacalhau serve` orchestrators send analytics (unless DisableAnalytics "
        "is true): OTLP logs over gRPC to t.bacalhau.org:4317 (v1.6-1.7; PostHog from v1.8) with "
        "resource attributes os.type, installation_id, instance_id, node_id_hash, node_type, "
        "node_version, and events bacalhau.job_v1.submit, bacalhau.job_v1.terminal, "
        "bacalhau.execution_v1.create, bacalhau.execution_v1.terminal, "
        "bacalhau.execution_v1.compute_message (and compute_nodes_v1.info in v1.8).",
        "Not stopped by DisableAnalytics: a daily update check to get.bacalhau.org/version carrying "
        "installation_id and instance_id, and X-Bacalhau-InstanceID / X-Bacalhau-InstallationID "
        "headers on every API call to an orchestrator.",
    ],
    "coiled": [
        "Coiled keeps no local record of what it sends: there is no log of payloads to show.",
        "What it sends, once analytics is registered on a cluster (coiled.analytics.register(client), "
        "a scheduler preload of coiled.analytics, or any Coiled-managed cluster): the code of each "
        "computation (coiled.analytics.computation.code.transmit, default true), client spans "
        "(coiled.analytics.client-spans.transmit, default true) and client events "
        "(coiled.send-client-events, default true); other analytics keys are read by a scheduler "
        "plugin downloaded from Coiled at run time.",
        "Coiled-managed clusters also receive your whole local dask config, analytics keys and API "
        "token included.",
    ],
}

RAY_NO_TRACE_NOTE = ("With usage stats disabled, each `ray start --head` still POSTs one disabled "
                     "ping and leaves no local trace of it; it is listed here only when the usagectl "
                     "runtime hook recorded it in the sent ledger.")


def _consent_globs(env, framework):
    try:
        patterns = (env.read_consent().data.get("search") or {}).get(framework) or []
    except Exception:
        return []
    if isinstance(patterns, str):
        patterns = [patterns]
    paths = []
    for pattern in patterns:
        if isinstance(pattern, str):
            paths.extend(sorted(glob.glob(env.expand(pattern)))[:1000])
    return paths


def native(env, framework, limit, since, trust, paths):
    """Payloads from the framework's own files -> (payloads, skipped, notes)."""
    if framework == "ray":
        roots = _consent_globs(env, "ray") + list(paths)
        payloads, skipped = ray_sessions.scan(env.environ, roots, limit, since, trust)
        return payloads, skipped, [RAY_NO_TRACE_NOTE]
    if framework == "parsl":
        payloads, skipped = parsl_log.scan(env, paths, limit, since, trust)
        return payloads, skipped, []
    if framework in NO_LOCAL_RECORD:
        return [], [], list(NO_LOCAL_RECORD[framework])
    return [], [], ["usagectl knows no local record for %s; only the sent ledger is read." % framework]


def collect(env, frameworks, limit=1, since=None, trust=False, paths=()):
    """-> ({framework: {"payloads": [Payload], "notes": [str]}}, [Skipped])."""
    from_ledger, skipped = ledger_scan.scan(env.environ, frameworks, limit, since, trust)
    result = {}
    for framework in frameworks:
        payloads = list(from_ledger.get(framework, []))
        found, skips, notes = native(env, framework, limit, since, trust, paths)
        skipped.extend(skips)
        # The ledger saw the send itself: prefer its entry over the same body read back.
        ledger_bodies = {p.body for p in payloads if p.body is not None}
        payloads.extend(p for p in found if p.body is None or p.body not in ledger_bodies)
        payloads.sort(key=model.Payload.sort_key, reverse=True)
        if limit is not None:
            payloads = payloads[:limit]
        if payloads and framework in NO_LOCAL_RECORD:
            notes = notes[:1] and ["These come from the sent ledger (the usagectl runtime hook)."] + notes[1:]
        result[framework] = {"payloads": payloads, "notes": notes}
    return result, skipped
