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


def status_rows(snapshot, requested=None):
    return [status_row(snapshot, name) for name in snapshot.framework_names(requested)]
