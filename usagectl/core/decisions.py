"""The consent decision, read once per command: the snapshot every row of a command sees."""

from usagectl import consent

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

    def recorded_names(self):
        """Framework names the consent and policy files have entries for."""
        return sorted(set(self.consent.frameworks) | set(self.policy.frameworks))


def warn_problems(report, snapshot):
    """One warning per untrusted file, naming the file and the line."""
    for problem in snapshot.problems():
        report.warn_problem(problem, "treating every framework as off")




def persistent_decision(env, name, consent_snapshot=None, policy_snapshot=None):
    """The decision of the persistent layers only (the policy and the consent file):
    what is written into framework files and exported. DO_NOT_TRACK belongs to one shell
    or job and is enforced at run time instead."""
    environ = {k: v for k, v in env.environ.items() if k != "DO_NOT_TRACK"}
    return consent.decide(name, environ=environ, consent=consent_snapshot or env.read_consent(),
                          policy=policy_snapshot or env.read_policy())
