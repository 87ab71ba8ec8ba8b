"""The effective consent of every framework, as rows that status and friends render."""

from usagectl import adapters, consent

_SOURCE_LABELS = {
    consent.SOURCE_POLICY: "system policy",
    consent.SOURCE_DO_NOT_TRACK: "DO_NOT_TRACK",
    consent.SOURCE_FRAMEWORK_ENTRY: "consent file ({name})",
    consent.SOURCE_DEFAULT_ENTRY: "consent file (default)",
    consent.SOURCE_DAMAGED_CONSENT: "damaged consent file",
    consent.SOURCE_DAMAGED_POLICY: "damaged policy file",
    consent.SOURCE_UNSET: "framework's own default",
    consent.SOURCE_ERROR: "usagectl error",
}


def source_label(decision):
    return _SOURCE_LABELS.get(decision.source, decision.source).format(name=decision.framework)


class Snapshot:
    """Consent and policy read once, so every row of one command sees the same files."""

    def __init__(self, env):
        self.env = env
        self.consent = env.read_consent()
        self.policy = env.read_policy()

    def decide(self, name):
        return consent.decide(name, environ=self.env.environ, consent=self.consent, policy=self.policy)

    def problems(self):
        return [s.problem for s in (self.policy, self.consent) if s.problem]

    def framework_names(self, requested=None):
        """Names to show: the requested ones, else every adapter plus any named in the files."""
        if requested:
            names = []
            for raw in requested:
                name = consent.normalize_name(raw)
                if name not in names:
                    names.append(name)
            return names
        names = list(adapters.builtin_names())
        for adapter in adapters.all_adapters():
            if adapter.name not in names:
                names.append(adapter.name)
        for extra in sorted(set(self.consent.frameworks) | set(self.policy.frameworks)):
            if extra not in names:
                names.append(extra)
        return names


def warn_problems(report, snapshot):
    """One warning per untrusted file, naming the file and the line."""
    for problem in snapshot.problems():
        report.warn_problem(problem, "treating every framework as off")


def status_row(snapshot, name):
    decision = snapshot.decide(name)
    adapter = adapters.get(name)
    row = decision.as_dict()
    row["decided_by"] = source_label(decision)
    row["title"] = adapter.title if adapter else name
    row["adapter"] = adapter is not None
    row["own_default"] = adapter.own_default if adapter else None
    if decision.mode == "unset":
        if adapter is not None:
            row["reason"] = "no choice recorded; %s's own default applies (%s: %s)" % (
                row["title"], adapter.own_default, adapter.own_default_note)
        else:
            row["reason"] = "no choice recorded; the framework's own default applies"
    return row


def status_rows(snapshot, requested=None, native=True):
    rows = [status_row(snapshot, name) for name in snapshot.framework_names(requested)]
    if native:
        hook = hook_state(snapshot.env)
        for row in rows:
            add_native_truth(snapshot.env, row, hook)
    return rows


#: Frameworks whose Python code the runtime hook patches.
HOOKED_FRAMEWORKS = ("ray", "parsl", "coiled")


def hook_state(env):
    """Is the runtime hook installed in the Python that runs usagectl? (None: can't tell)."""
    try:
        from usagectl.hook.installer import hook_installed

        return hook_installed(env)
    except Exception:
        return None


def is_drift(intent, native_mode):
    """The framework will do more than the consent file allows."""
    return intent in ("off", "local") and native_mode == "on"


def add_native_truth(env, row, hook):
    """What the framework itself will decide, next to the consent intent, and any drift."""
    adapter = adapters.get(row["framework"])
    row["native"] = None
    row["drift"] = False
    row["traps"] = []
    row["hook"] = None
    row["installed_here"] = None
    if adapter is None:
        return
    row["installed_here"] = adapter.installed_here(env)
    try:
        native = adapter.native_state(env)
    except Exception as exc:  # one framework's odd file must not hide the others
        native = {"mode": "unknown", "source": None, "detail": "can't read its state: %s" % exc,
                  "traps": []}
    row["native"] = {k: native.get(k) for k in ("mode", "source", "detail")}
    row["traps"] = list(native.get("traps") or [])
    if row["framework"] in HOOKED_FRAMEWORKS and hook is not None and row["installed_here"]:
        # Only where this Python has the framework: elsewhere the hook here decides nothing.
        row["hook"] = bool(hook.get("installed"))
    row["drift"] = is_drift(row["mode"], native.get("mode"))
    if row["drift"]:
        row["drift_reason"] = "consent says %s but %s will report: %s" % (
            row["mode"], row["title"], native.get("detail") or native.get("source"))
        if row["hook"]:
            row["drift_reason"] += " (the runtime hook still enforces %s in this Python)" % row["mode"]


def warn_native(report, rows):
    for row in rows:
        for trap in row.get("traps", []):
            report.warn("%s: %s=%r: %s" % (row["framework"], trap.get("variable"), trap.get("value"),
                                            trap.get("problem")))
        if row.get("drift"):
            source = (row.get("native") or {}).get("source") or ""
            if source.startswith("env:"):
                fix = "unset %s, or use the values from `usagectl env`" % source[4:]
            else:
                fix = "run `usagectl sync` to repair"
            report.warn("%s: DRIFT: %s; %s" % (row["framework"], row["drift_reason"], fix))
