"""The export formats built from every framework's own environment variables."""

from __future__ import annotations

import json

from usagectl.core.exports import Format, Result, systemd_quote
from usagectl.export import Decisions

_HEADER = "usagectl export %s: the consent file's decision as of this export; re-export after a change"


def _no_variables_note(decisions: Decisions) -> list[str]:
    notes = []
    for adapter in decisions.adapters:
        decision = decisions.by_name[adapter.name]
        if decision.mode == "unset":
            notes.append("%s: no choice recorded; its own default applies" % adapter.name)
        elif not adapter.env_vars(decision):
            notes.append("%s is %s but has no environment variable; install the runtime hook where it "
                         "runs (the dockerfile format does)" % (adapter.name, decision.mode))
    return notes


class KubernetesEnv(Format):
    name = "k8s-env"
    summary = "a container `env:` list (Kubernetes, KubeRay containerEnv, Helm values)"
    destination = "a container's env: in a pod spec"

    def render(self, decisions, text, path):
        lines = ["# " + _HEADER % self.name]
        variables = decisions.variables()
        if not variables:
            lines.append("[]")
        for _framework, name, value in variables:
            # JSON strings are YAML strings: every value stays a string, as Kubernetes requires.
            lines.append("- name: %s\n  value: %s" % (name, json.dumps(value)))
        return Result("\n".join(lines) + "\n", notes=_no_variables_note(decisions),
                      details={"variables": [[n, v] for _f, n, v in variables]})


class SystemdDropIn(Format):
    name = "systemd"
    summary = "an Environment= drop-in for a service that runs a framework (e.g. `bacalhau serve`)"
    destination = "/etc/systemd/system/UNIT.service.d/usagectl.conf (then systemctl daemon-reload and restart)"

    def render(self, decisions, text, path):
        lines = ["# " + _HEADER % self.name,
                 "# Save as /etc/systemd/system/UNIT.service.d/usagectl.conf for the unit that runs the",
                 "# framework (`systemctl edit UNIT` opens that file), then restart the unit: a running",
                 "# service keeps the environment it started with.",
                 "[Service]"]
        variables = decisions.variables()
        for _framework, name, value in variables:
            lines.append("Environment=%s" % systemd_quote("%s=%s" % (name, value)))
        return Result("\n".join(lines) + "\n", notes=_no_variables_note(decisions),
                      details={"variables": [[n, v] for _f, n, v in variables]})


def _sh_single(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


class Dockerfile(Format):
    name = "dockerfile"
    summary = "ENV lines, the system policy and the runtime hook in the image's Python"
    destination = "your Dockerfile, after the frameworks are installed"

    def render(self, decisions, text, path):
        from usagectl import consent

        variables = decisions.variables()
        lines = ["# " + _HEADER % self.name]
        if variables:
            lines.append("ENV " + " \\\n    ".join("%s=%s" % (n, json.dumps(v)) for _f, n, v in variables))
        # The policy reaches every user of the image, whoever the container runs as, and
        # the hook enforces it when a framework is imported: frameworks without a variable
        # (Parsl) are held to it too. Ceilings only for what the user restricted.
        policy = ["schema = 1"]
        for adapter in decisions.adapters:
            decision = decisions.by_name[adapter.name]
            if decision.mode in ("off", "local"):
                policy += ["[frameworks.%s]" % adapter.name, 'ceiling = "%s"' % decision.mode]
                if decision.mode == "local" and decision.send:
                    # The most a user of the image may let through: the categories allowed here.
                    policy.append("send = [%s]" % ", ".join(json.dumps(c) for c in decision.send))
            elif decision.mode == "on" and decision.level is not None:
                policy += ["[frameworks.%s]" % adapter.name, 'ceiling = "on"', "level = %d" % decision.level]
        policy_path = "/etc/xdg/usagectl/" + consent.POLICY_FILE_NAME
        lines += [
            "# usagectl itself (override USAGECTL_SPEC with a wheel or a pinned version).",
            "ARG USAGECTL_SPEC=usagectl",
            'RUN python3 -m pip install --no-cache-dir "$USAGECTL_SPEC" \\',
            "    && mkdir -p /etc/xdg/usagectl \\",
            "    && printf '%s\\n' " + " ".join(_sh_single(line) for line in policy) + " > " + policy_path + " \\",
            '    && usagectl hook install --python "$(command -v python3)"',
        ]
        notes = _no_variables_note(decisions)
        notes.append("the hook goes into the image's python3; name another interpreter in the last line "
                     "if the frameworks live elsewhere")
        return Result("\n".join(lines) + "\n", notes=notes,
                      details={"variables": [[n, v] for _f, n, v in variables], "policy": "\n".join(policy) + "\n"})


FORMATS: tuple[Format, ...] = (KubernetesEnv(), SystemdDropIn(), Dockerfile())
