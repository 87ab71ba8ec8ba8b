"""`usagectl --system ...`: the administrator's side of the decision.

The system policy (ceilings every user is held to) is written instead of a consent file,
then carried into the system-wide settings each framework reads for users who never ran
usagectl (Framework.system_apply: a system dask file, a drop-in for the systemd unit that
runs `bacalhau serve`), and the runtime hook goes into the named system interpreters,
where it holds Ray and Parsl to the policy. Users can only tighten what it says.
"""

from __future__ import annotations

from usagectl import consent
from usagectl import frameworks as registry
from usagectl.core import system

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _decision_for_everyone(env, name, policy):
    """The decision of a user with no consent file and no DO_NOT_TRACK: the policy's."""
    empty = consent.Snapshot(env.consent_path, exists=False)
    environ = {k: v for k, v in env.environ.items() if k != "DO_NOT_TRACK"}
    return consent.decide(name, environ=environ, consent=empty, policy=policy)


def _read_policy(env, report):
    policy = env.read_policy()
    if policy.problem:
        report.warn_problem(policy.problem, "every framework is off for every user")
    return policy


def apply_system(env, report, pythons=()) -> list[dict[str, Any]]:
    """Carry the policy into every framework's system-wide settings and install the hook
    into ``pythons``. -> one entry per framework."""
    policy = _read_policy(env, report)
    applied = []
    for adapter in registry.all():
        decision = _decision_for_everyone(env, adapter.name, policy)
        outcome = adapter.system_apply(env, decision) or {}
        applied.append({"framework": adapter.name, "mode": decision.mode, "changed": outcome.get("changed", []),
                        "removed": outcome.get("removed", []), "notes": outcome.get("notes", [])})
        for note in outcome.get("notes", []):
            report.note("%s: %s" % (adapter.name, note))
    hooks = []
    for python in pythons:
        from usagectl.hook import installer

        hooks.append(installer.install_system(env, python))
    if not pythons:
        hooked = [a.name for a in registry.all() if a.hook_file()]
        report.note("%s are held to the policy by the runtime hook: `usagectl --system sync --python PY` "
                    "installs it in a system interpreter" % ", ".join(hooked))
    return applied + [{"hook": h} for h in hooks]


def set_ceiling(env, report, names, mode, level=None, repair=False, only=None, excluded=None):
    from usagectl.commands.modes import categories_to_send, check_level
    from usagectl.core import policy_store

    # The same validation as a user's own choice: a level no framework has is refused.
    check_level(names, level)
    send = categories_to_send(names, only, excluded)
    if send is not None:
        mode = "local"  # the most anyone may send: these categories
    system.require_admin(env)
    path = env.policy_path
    targets = list(names) or [None]
    changes, backup = policy_store.set_ceilings(system.tree(env), system.policy_location(env), targets, mode,
                                                level, repair=repair, now=env.now(), send=send,
                                                history=policy_store.HISTORY_FILE, command=env.command_line)
    if backup:
        report.note("kept the damaged policy file, byte for byte, as %s" % backup)
    report.data = {"policy": path, "changes": [{"framework": t, "from": old, "to": new} for t, old, new in changes],
                   "applied": apply_system(env, report)}


def status(env, report):
    policy = _read_policy(env, report)
    rows = []
    for adapter in registry.all():
        decision = _decision_for_everyone(env, adapter.name, policy)
        ceiling = consent.ceiling_for(policy, adapter.name) if not policy.problem else None
        rows.append({"framework": adapter.name, "ceiling": ceiling.mode if ceiling else None,
                     "level": ceiling.level if ceiling else None,
                     "send": list(ceiling.send) if ceiling and ceiling.send is not None else None,
                     "everyone": decision.mode,
                     "reason": decision.reason, "system_settings": adapter.system_state(env)})
    report.data = {"policy": policy.path, "policy_exists": policy.exists, "frameworks": rows}
