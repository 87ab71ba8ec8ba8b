"""`usagectl verify`: prove that opt-out holds, as a Python function and a command.

    from usagectl.verify import verify
    result = verify(["parsl"])           # in a framework's own test suite
    assert result.ok, result.failures()

Every check yields pass, fail, unknown, warn or skip with its evidence. A verdict is
known-good (pass), known-bad (fail) or unknown: what usagectl could not read or ask is
unknown, never pass, and fails verify unless the caller allows it (--allow-unknown). The intent comes from
the consent file (and the environment, as the framework's own process would see it);
the framework's effective state is computed twice, by usagectl's model and by the
framework's own code in the target Python, and a disagreement is itself a failure.
"""

import os
import subprocess
import sys

from usagectl import consent
from usagectl import frameworks as registry
from usagectl.core.categories import describe, judge, judge_mode, narrowed
from usagectl.core.environment import Environment

PASS, FAIL, WARN, SKIP, UNKNOWN = "pass", "fail", "warn", "skip", "unknown"
STATUSES = (PASS, FAIL, UNKNOWN, WARN, SKIP)
PROBE_TIMEOUT_S = 120
NOT_SENDING = ("off", "local")


class Check:
    __slots__ = ("framework", "name", "status", "summary", "evidence", "fix")

    def __init__(self, framework, name, status, summary, evidence=None, fix=None):
        self.framework = framework
        self.name = name
        self.status = status
        self.summary = summary
        self.evidence = evidence if evidence is not None else []
        self.fix = fix

    def as_dict(self):
        return {"framework": self.framework, "check": self.name, "status": self.status,
                "summary": self.summary, "evidence": self.evidence, "fix": self.fix}

    def __repr__(self):
        return "Check(%s, %s, %s: %s)" % (self.framework, self.name, self.status, self.summary)


class VerifyResult:
    def __init__(self, checks, python, allow_unknown=False):
        self.checks = checks
        self.python = python
        self.allow_unknown = allow_unknown

    @property
    def ok(self):
        """Known to hold: nothing failed, and nothing is unknown unless that is allowed."""
        return not self.failures() and (self.allow_unknown or not self.unknowns())

    def failures(self):
        return [c for c in self.checks if c.status == FAIL]

    def unknowns(self):
        return [c for c in self.checks if c.status == UNKNOWN]

    def warnings(self):
        return [c for c in self.checks if c.status == WARN]

    def as_dict(self):
        import platform

        # The machine's name, so that envelopes gathered from a fleet say whose they are.
        return {"ok": self.ok, "host": platform.node() or None, "python": self.python,
                "allow_unknown": self.allow_unknown,
                "counts": {s: sum(c.status == s for c in self.checks) for s in STATUSES},
                "checks": [c.as_dict() for c in self.checks]}


def verify(frameworks=None, python=None, env=None, since=None, allow_unknown=False):
    """Run every check for ``frameworks`` (default: all with adapters). Never sends anything.

    ``since`` (an aware datetime) ignores payloads recorded before it, e.g. before a fix.
    """
    env = env or Environment()
    python = python or sys.executable
    consent_snapshot = env.read_consent()
    policy_snapshot = env.read_policy()
    names = [consent.normalize_name(n) for n in frameworks] if frameworks else registry.names()
    probes = _probe_all(env, python, [f for f in map(registry.get, names)
                                      if f is not None and f.probe_file()])
    hook = _hook_for(env, python)
    checks = []
    for problem in (policy_snapshot.problem, consent_snapshot.problem):
        if problem:
            checks.append(Check("*", "consent-file", WARN, "%s: every framework is treated as off"
                                % problem, fix="fix the file or run `usagectl disable --repair`"))
    for name in names:
        adapter = registry.get(name)
        decision = consent.decide(name, environ=env.environ, consent=consent_snapshot,
                                  policy=policy_snapshot)
        if adapter is None:
            checks.append(Check(name, "adapter", SKIP, "usagectl has no adapter for %s: nothing to "
                                "check beyond the consent file (intent: %s)" % (name, decision.mode)))
            continue
        checks.extend(check_framework(env, adapter, decision, probes, since, hook))
    return VerifyResult(checks, python, allow_unknown)


def _hook_for(env, python):
    """The runtime hook's state in the interpreter verify checks (as `status --python`)."""
    from usagectl.hook.state import hook_state

    if os.path.realpath(python) == os.path.realpath(sys.executable):
        return hook_state(env)
    try:
        from usagectl.hook.installer import status as hook_status

        return hook_status(python)
    except Exception:
        return None


def check_framework(env, adapter, decision, probes, since=None, hook=None):
    name = adapter.name
    intent = decision.mode
    from usagectl.hook.state import native_state

    native = judge(native_state(env, adapter), decision)  # under a send list: what it holds back
    checks = [_check_settings(env, adapter, decision, hook)]
    checks.extend(_check_own_code(adapter, intent, native, probes, decision))
    checks.extend(_check_own_program(env, adapter, intent, native))
    checks.append(_check_traps(adapter, native))
    checks.extend(_check_payloads(env, adapter, decision, since))
    checks.extend(_check_side_channels(env, adapter, intent))
    checks.append(_check_running(env, adapter, decision))
    hook = _check_hook(env, adapter, probes)
    if hook is not None:
        checks.append(hook)
    return [c for c in checks if c is not None and c.framework == name]


def _check_settings(env, adapter, decision, hook):
    """The framework's one judgment (usagectl.judgment), as `usagectl status` shows it:
    drift fails, "not enforced" and "can't tell" are unknown, never a pass. Processes
    that decided at start are the `running` check's."""
    from usagectl import judgment

    row = judgment.judged(env, adapter, decision, hook, running=False)
    native = row.get("native") or {}
    evidence = ["consent: %s" % describe(decision),
                "%s's own settings: %s (%s)" % (adapter.title, native.get("mode"), native.get("detail"))]
    if decision.mode == "unset":
        return Check(adapter.name, "settings", PASS, "no choice recorded; %s's own default applies"
                     % adapter.title, evidence)
    if decision.mode not in NOT_SENDING:
        return Check(adapter.name, "settings", PASS, "%s's own settings honour %s"
                     % (adapter.title, describe(decision)), evidence)
    status, summary, fix = judgment.verdict(row)
    if status == "fail":
        return Check(adapter.name, "settings", FAIL, summary, evidence, fix)
    if status == "unknown":
        return Check(adapter.name, "settings", UNKNOWN, summary, evidence, fix)
    return Check(adapter.name, "settings", PASS, "%s's own settings honour %s"
                 % (adapter.title, describe(decision)), evidence)


def _framework_says(adapter, probe, decision):
    """'on'/'off'/None from the framework's own answer in the probe; under a send list,
    "on" only when something consent holds back can leave."""
    said = adapter.says(probe)
    if narrowed(decision):
        return judge_mode(said, adapter.says_categories(probe), decision)
    return said


def _check_own_program(env, adapter, intent, native):
    """Ask a framework that is a program (Bacalhau) itself, as the probes ask Python ones."""
    if not registry.has(adapter, "ask_program"):
        return []
    name = adapter.name
    answer = adapter.ask_program(env)
    if answer is None:
        return [Check(name, "own-program", SKIP, "%s is not on PATH here, so it could not be asked itself"
                      % adapter.title)]
    asked = "`%s`" % " ".join(answer.get("asked") or ())
    evidence = ["asked: %s" % asked] + list(answer.get("evidence") or ())
    if answer.get("error"):
        return [Check(name, "own-program", UNKNOWN, "could not ask %s itself (%s): %s"
                      % (adapter.title, asked, answer["error"]), evidence)]
    said, modelled = answer.get("says"), native.get("mode")
    checks = []
    if said in ("on", "off") and modelled in ("on", "off") and said != modelled:
        checks.append(Check(name, "program-agreement", FAIL,
                            "usagectl's model says %s but %s itself (%s) says %s: usagectl can't be "
                            "trusted here" % (modelled, adapter.title, asked, said), evidence))
    if intent in NOT_SENDING and said == "on":
        checks.append(Check(name, "own-program", FAIL, "consent says %s but %s itself says on"
                            % (intent, adapter.title), evidence, "run `usagectl sync`"))
    elif intent in NOT_SENDING and said != "off":
        checks.append(Check(name, "own-program", UNKNOWN, "%s itself gave no clear answer" % adapter.title,
                            evidence))
    elif intent in NOT_SENDING:
        checks.append(Check(name, "own-program", PASS, "%s itself says off" % adapter.title, evidence))
    else:
        checks.append(Check(name, "own-program", PASS, "%s itself says %s" % (adapter.title, said or "?"),
                            evidence))
    return checks


def _check_own_code(adapter, intent, native, probes, decision):
    if not registry.has(adapter, "says"):
        return []  # the framework's own code gives no verdict usagectl can compare
    name = adapter.name
    unaided = probes.get("unaided", {}).get("frameworks", {}).get(name)
    hooked = probes.get("hooked", {}).get("frameworks", {}).get(name)
    if probes.get("error"):
        return [Check(name, "own-code", UNKNOWN, "could not ask %s itself: %s" % (adapter.title, probes["error"]))]
    if not unaided or not unaided.get("installed"):
        return [Check(name, "own-code", SKIP, "%s is not installed in %s" % (adapter.title, probes.get("python")))]
    if unaided.get("error"):
        return [Check(name, "own-code", FAIL, "%s's own code fails: %s" % (adapter.title, unaided["error"]),
                      [unaided["error"]], "see the env-trap check")]
    said = _framework_says(adapter, unaided, decision)
    checks = []
    evidence = ["usagectl's model: %s" % native.get("mode"), "%s's own code: %s" % (adapter.title, said)]
    gap = adapter.unenforceable(unaided)
    if gap:
        evidence.append(gap)
    if native.get("mode") in ("on", "off") and said != native.get("mode") and gap:
        checks.append(Check(name, "model-agreement", FAIL,
                            "usagectl's model of %s's settings says %s, but this release can't honour "
                            "them: %s" % (adapter.title, native.get("mode"), gap), evidence))
    elif native.get("mode") in ("on", "off") and said != native.get("mode"):
        checks.append(Check(name, "model-agreement", FAIL,
                            "usagectl's model says %s but %s's own code says %s: usagectl can't be "
                            "trusted here; please report it" % (native.get("mode"), adapter.title, said),
                            evidence))
    else:
        sending = native.get("sending") if native.get("own_mode") == "on" else None
        # Under a send list "off" means nothing held back leaves: say what does leave.
        agreed = "partly on: %s, as the consent allows" % ", ".join(sending) if sending else said
        checks.append(Check(name, "model-agreement", PASS, "usagectl's model and %s's own code agree (%s)"
                            % (adapter.title, agreed), evidence))
    effective = _framework_says(adapter, hooked, decision) if hooked else said
    if intent in NOT_SENDING and effective == "on":
        checks.append(Check(name, "own-code", FAIL, "consent says %s but %s's own code, in %s, says on"
                            % (describe(decision), adapter.title, probes.get("python")), evidence,
                            "upgrade %s: no setting of this release stops it" % adapter.title if gap
                            else "run `usagectl sync`, or `usagectl hook install`"))
    elif intent in NOT_SENDING:
        via = " (with the runtime hook)" if effective != said else ""
        what = "holds back all but what consent allows" if narrowed(decision) else "says off"
        checks.append(Check(name, "own-code", PASS, "%s's own code %s%s" % (adapter.title, what, via), evidence))
    return checks


def _check_traps(adapter, native):
    traps = native.get("traps") or []
    if not traps:
        return Check(adapter.name, "env-traps", PASS, "no variable %s would misread" % adapter.title)
    evidence = ["%s=%r: %s" % (t.get("variable"), t.get("value"), t.get("problem")) for t in traps]
    return Check(adapter.name, "env-traps", FAIL, "%d value(s) %s would misread or crash on"
                 % (len(traps), adapter.title), evidence,
                 "set them from `usagectl env`, or unset them")


def _evidence(p):
    return "%s %s, %s -> %s (%s%s)" % (consent._iso(p.when), p.outcome, p.delivery, p.destination,
                                       p.source_file or p.origin,
                                       "" if p.source_line is None else " line %d" % p.source_line)


def _check_pings(adapter, pings, decision):
    """A "disabled ping" (Ray's, sent even with usage stats off) judged by what happened to
    it: delivered after the opt-out fails; stopped before it left passes; else unknown."""
    if not pings:
        return []
    delivered = [p for p in pings if p.delivery == "delivered"]
    unknown = [p for p in pings if p.delivery == "unknown"]
    fix = ("no %s setting stops it: point its report URL at an address that drops it, or block "
           "the host; `usagectl show-last %s` shows where it went" % (adapter.title, adapter.name))
    if delivered:
        return [Check(adapter.name, "disabled-ping", FAIL, "%d disabled ping(s) reached %s after consent "
                      "became %s" % (len(delivered), ", ".join(sorted({str(p.destination) for p in delivered})),
                                     decision.mode), [_evidence(p) for p in delivered], fix)]
    if unknown:
        inferred = sum(str(p.origin).endswith("(inferred)") for p in unknown)
        return [Check(adapter.name, "disabled-ping", UNKNOWN, "%d disabled ping(s) after consent became %s%s; "
                      "whether they arrived is not known" % (
                          len(unknown), decision.mode,
                          " (%d inferred: a head started since with stats disabled, and no record of its "
                          "ping)" % inferred if inferred else ""),
                      [_evidence(p) for p in unknown], fix)]
    return [Check(adapter.name, "disabled-ping", PASS, "%d disabled ping(s) after consent became %s, none "
                  "delivered" % (len(pings), decision.mode), [_evidence(p) for p in pings])]


def _check_payloads(env, adapter, decision, not_before=None):
    """-> [Check]: payloads recorded after the opt-out, and disabled pings apart."""
    if decision.mode not in NOT_SENDING:
        return [Check(adapter.name, "payloads-after-opt-out", SKIP, "consent is %s: nothing to prove"
                      % decision.mode)]
    since = decision.since
    if not_before is not None and (since is None or not_before > since):
        since = not_before
    try:
        from usagectl.records import collect

        found, _skipped = collect.collect(env, [adapter.name], limit=50, since=since)
    except Exception as exc:
        return [Check(adapter.name, "payloads-after-opt-out", UNKNOWN, "could not read local records: %s" % exc)]
    entry = found.get(adapter.name) or {}
    payloads = list(entry.get("payloads", []))
    if not payloads and collect.keeps_no_record(adapter.name):
        return [Check(adapter.name, "payloads-after-opt-out", SKIP,
                      "%s keeps no local record of what it sends: nothing to prove from records"
                      % adapter.title, entry.get("notes", [])[1:])]
    violating = [p for p in payloads if since is None or (p.when is not None and p.when >= since)]
    pings = [p for p in violating if p.kind == "disabled-ping" or p.outcome == "disabled-ping"]
    violating = [p for p in violating if p not in pings]
    if since is not None:
        # What the framework's traces prove was attempted though no record shows it (a Ray
        # head started since with stats disabled sent a disabled ping): unknown, not a pass.
        recorded = [p.when for p in pings if p.when is not None]
        pings += [p for p in adapter.inferred_sends(env, since)
                  if not any(abs((p.when - when).total_seconds()) < 120 for when in recorded)]
    ping_checks = _check_pings(adapter, pings, decision)
    if violating:
        evidence = [_evidence(p) for p in violating]
        return ping_checks + [Check(adapter.name, "payloads-after-opt-out", FAIL,
                     "%s%d payload(s) recorded after consent became %s%s" % (
                         "at least " if adapter.records_keep_last_only else "", len(violating), decision.mode,
                         " (%s keeps only the last report of each session)" % adapter.title
                         if adapter.records_keep_last_only else ""),
                     evidence, "find the sender with `usagectl show-last %s`, close it (`usagectl sync`, "
                     "`usagectl hook install`), consider `usagectl request-deletion %s`, then verify "
                     "again with --since set to after the fix" % (adapter.name, adapter.name))]
    summary = "no payload recorded after consent became %s" % decision.mode
    if since is not None:
        summary += " (%s)" % consent._iso(since)
    if pings:
        summary += "; disabled pings are judged apart (see disabled-ping)"
    return ping_checks + [Check(adapter.name, "payloads-after-opt-out", PASS, summary)]


def _check_running(env, adapter, decision):
    """A process that decided at start (a Ray head) and still reports fails opt-out."""
    if decision.mode not in NOT_SENDING or not registry.has(adapter, "running"):
        return None
    from usagectl.records import running

    sending, unknown = running.against(env, adapter, decision)
    if sending:
        return Check(adapter.name, "running", FAIL,
                     "%d running %s still reporting although consent is %s"
                     % (len(sending), "process is" if len(sending) == 1 else "processes are", decision.mode),
                     [running.describe(p) for p in sending], "restart with %s" % sending[0].get("restart"))
    if unknown:
        return Check(adapter.name, "running", UNKNOWN, "can't tell whether running %s processes report"
                     % adapter.title, [p.get("why") or running.describe(p) for p in unknown],
                     "restart them after an opt-out to be sure")
    return Check(adapter.name, "running", PASS, "no running %s process reports" % adapter.title)


def _check_side_channels(env, adapter, intent):
    if intent not in NOT_SENDING:
        return []
    channels = getattr(adapter, "side_channels", None)
    if channels is None:
        return []
    checks = []
    for channel in channels(env) or []:
        if channel.get("only_when_on"):
            continue  # e.g. Ray's cloud-metadata probe: gone once usage stats are off
        status = PASS if channel.get("closed") else WARN
        checks.append(Check(adapter.name, "side-channel:%s" % channel.get("name"), status,
                            channel.get("detail", ""), [], channel.get("how_to_close")))
    return checks


def _check_hook(env, adapter, probes):
    if not adapter.hook_imports:
        return None
    unaided = probes.get("unaided", {}).get("frameworks", {}).get(adapter.name)
    if not unaided or not unaided.get("installed"):
        return None
    if probes.get("hooked", {}).get("hook_active"):
        return Check(adapter.name, "runtime-hook", PASS, "the runtime hook is active in %s" % probes["python"])
    return Check(adapter.name, "runtime-hook", WARN, "%s is installed in %s but the runtime hook is not"
                 % (adapter.title, probes["python"]), [],
                 "usagectl hook install --python %s" % probes["python"])


def _probe_all(env, python, probed):
    """Run every framework's probe in the target Python twice, side by side: as is (hook
    active if installed) and unaided."""
    result = {"python": python}
    if not probed:
        return result
    import json
    from concurrent.futures import ThreadPoolExecutor

    script = os.path.join(os.path.dirname(__file__), "probe.py")
    pairs = ["%s=%s" % (f.name, f.probe_file()) for f in probed]
    runs = (("hooked", []), ("unaided", ["--without-hook"]))

    def run(extra):
        return subprocess.run([python, script, *extra, *pairs], capture_output=True, text=True,
                              env=env.environ, timeout=PROBE_TIMEOUT_S, stdin=subprocess.DEVNULL)

    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        futures = [(label, pool.submit(run, extra)) for label, extra in runs]
    for label, future in futures:
        try:
            proc = future.result()
        except (OSError, subprocess.TimeoutExpired) as exc:
            result["error"] = "%s: %s" % (python, exc)
            return result
        lines = proc.stdout.strip().splitlines()
        try:
            result[label] = json.loads(lines[-1])
        except (IndexError, ValueError):
            result["error"] = "the probe failed in %s (exit %d): %s" % (
                python, proc.returncode, (proc.stderr.strip().splitlines() or ["no output"])[-1])
            return result
    return result
