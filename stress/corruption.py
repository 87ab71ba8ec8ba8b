"""The corruption matrix: every damage a consent or policy file (and the files beside it)
can have, against the reader and the read-only commands.

Kinds: every truncation of a file usagectl wrote, binary, invalid UTF-8, wrong types,
duplicate keys, invalid names, levels beyond int64, a directory, a FIFO, a symlink loop,
a dangling link, unreadable to its (non-root) reader, larger than the cap. For each:
every framework's ``consent.decide()`` is off, `status --json` shows off for all with
exit 4, the read-only commands (status, env, history, show-last; preview and verify on
the non-truncation cases) write nothing, print no traceback and never hang. The files
beside it (Ray's config.json, Bacalhau's config.yaml, a dask file, history.jsonl, the
sent ledger) as FIFOs, directories, binary or huge: no traceback, no hang, no write.
"""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys

import common

FRAMEWORKS = ("ray", "parsl", "bacalhau", "coiled", "someone-else")
HANG_LIMIT_S = 30


def _snapshot(root):
    """Every path under ``root`` with its mode, size and mtime. Directories' times are
    left out: a temp file made and removed in TMPDIR (a probe's) is not a write."""
    found = {}
    for base, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(base, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            is_dir = stat.S_ISDIR(info.st_mode)
            found[path] = (info.st_mode, 0 if is_dir else info.st_size, 0 if is_dir else info.st_mtime_ns)
    return found


def _cli(home, *argv):
    from usagectl.core.environment import Environment
    from usagectl.main import execute

    out, err = io.StringIO(), io.StringIO()
    env = Environment(environ=dict(home.environ), stdout=out, stderr=err, stdin=io.StringIO(""),
                      argv=list(argv))
    with common.time_limit(HANG_LIMIT_S):
        code = execute(list(argv), env)
    return code, out.getvalue(), err.getvalue()


def _written_consent(home):
    """A consent file written by usagectl itself: default on, Ray off, Parsl local at 2."""
    from usagectl.core import store

    for targets, mode, level in (([None], "on", None), (["ray"], "off", None), (["parsl"], "local", 2),
                                 (["coiled"], "off", None)):
        store.set_modes(home.consent_path, home.history_path, targets, mode, level, "stress")
    return open(home.consent_path, "rb").read()


def _damages(which):
    """(name, how to make it) for the consent or the policy file: bytes, a callable(path)
    for special files, or "unreadable". The cases are the conformance vectors'
    (conformance/vectors/corruption.json), so every damage here is also checked against
    every reader (tests/test_conformance.py, the Go reader's go test)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "conformance"))
    import harness

    specials = {"directory": lambda p: os.mkdir(p), "fifo": lambda p: os.mkfifo(p),
                "symlink-loop": lambda p: os.symlink(p, p),
                "dangling-link": lambda p: os.symlink("/nonexistent/usagectl-stress/x.toml", p),
                "unreadable": "unreadable"}
    prefix = "corruption/%s-" % which
    cases = []
    for case in harness.load():
        if not case.name.startswith(prefix) or "@" in case.name:
            continue  # cuts: main() cuts the file this run wrote instead
        if not all(case.expected(f)["source"].startswith("damaged:") for f in case.frameworks):
            continue  # a near miss that is not damage (blank lines after a seal)
        spec = case.consent if which == "consent" else case.policy
        how = specials[spec["special"]] if "special" in spec else harness.content(spec)
        cases.append((case.name[len(prefix):], how))
    return cases


def _place(path, how, good):
    if os.path.lexists(path):
        if os.path.isdir(path) and not os.path.islink(path):
            os.rmdir(path)
        else:
            os.unlink(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if callable(how):
        how(path)
    elif how == "unreadable":
        with open(path, "wb") as handle:
            handle.write(good)
        os.chmod(path, 0)
    else:
        with open(path, "wb") as handle:
            handle.write(how)


def _decide_all_off(home, unprivileged=False):
    """Every framework's decision from the reader, in a child (a non-root one for the
    unreadable case); True when all are off."""
    code = ("import json, sys; from usagectl import consent; "
            "print(json.dumps([consent.decide(f).mode for f in %r]))" % (FRAMEWORKS,))
    preexec = None
    if unprivileged and os.getuid() == 0:
        def preexec():
            os.setgid(65534)
            os.setuid(65534)
    env = dict(home.environ, PYTHONPATH=common.ROOT)
    python = _unprivileged_python() if preexec else sys.executable
    if python is None:
        return None
    proc = subprocess.run([python, "-c", code], env=env, capture_output=True, text=True,
                          timeout=HANG_LIMIT_S, preexec_fn=preexec, cwd="/")
    try:
        modes = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return False
    return modes == ["off"] * len(FRAMEWORKS)


def _unprivileged_python():
    """An interpreter user nobody can run (the reader is stdlib-only, so any 3.10+ will do)."""
    import shutil

    def drop():
        os.setgid(65534)
        os.setuid(65534)

    for candidate in (sys.executable, shutil.which("python3"), "/usr/bin/python3"):
        if not candidate:
            continue
        try:
            if subprocess.run([candidate, "-c", "import sys; assert sys.version_info >= (3, 10)"],
                              preexec_fn=drop, capture_output=True, timeout=30, cwd="/").returncode == 0:
                return candidate
        except OSError:
            continue
    return None


def _open_up(root):
    """Let the unprivileged reader reach the files (only the damaged one is unreadable)."""
    for base, dirs, _files in os.walk(root):
        os.chmod(base, 0o755)
        for name in dirs:
            os.chmod(os.path.join(base, name), 0o755)


def run_case(home, figures_state, label, path, how, good, full_commands):
    _place(path, how, good)
    if how == "unreadable":
        _open_up(home.root)
        all_off = _decide_all_off(home, unprivileged=True)
        os.chmod(path, 0o600)
        if all_off is None:
            figures_state["not_run"].append(label + " (no interpreter user nobody can run)")
            return
        figures_state["cases"] += 1
        figures_state["all_off"] += all_off
        if not all_off:
            figures_state["not_off"].append(label)
        return
    before = _snapshot(home.root)
    all_off = _decide_all_off(home)
    commands = [("status", "--json"), ("env",), ("history",), ("show-last",)]
    if full_commands:
        commands += [("preview", "--json"), ("verify", "--json")]
    for argv in commands:
        try:
            code, out, err = _cli(home, *argv)
        except TimeoutError:
            figures_state["hangs"].append("%s %s" % (label, argv[0]))
            continue
        if "Traceback" in err or "Traceback" in out:
            figures_state["tracebacks"].append("%s %s" % (label, argv[0]))
        if argv[0] == "status":
            try:
                rows = json.loads(out)["data"]["frameworks"]
                all_off = all_off and code == 4 and all(r["mode"] == "off" for r in rows)
            except (ValueError, KeyError):
                all_off = False
        elif argv[0] != "verify" and code != 4:
            figures_state["wrong_exit"].append("%s %s: %s" % (label, argv[0], code))
    after = _snapshot(home.root)
    if after != before:
        changed = sorted(set(after.items()) ^ set(before.items()))
        figures_state["writes"].append("%s: %s" % (label, changed[0][0]))
    figures_state["cases"] += 1
    figures_state["all_off"] += all_off
    if not all_off:
        figures_state["not_off"].append(label)


def beside_cases(home):
    """Damaged files next to the decision: frameworks' settings and usagectl's own logs."""
    dask_dir = os.path.join(home.environ["XDG_CONFIG_HOME"], "dask")
    return [
        ("ray-config", home.ray_config),
        ("bacalhau-config", os.path.join(home.home, ".bacalhau", "config.yaml")),
        ("dask-file", os.path.join(dask_dir, "zz-user.yaml")),
        ("history", home.history_path),
        ("sent-ledger", os.path.join(home.state_dir, "sent.jsonl")),
        ("settings", os.path.join(home.environ["USAGECTL_CONFIG_DIR"], "settings.toml")),
    ]


def main():
    # Small scale (every change, in .ci/run) samples: every other damage (the consent file
    # and the policy take alternate halves) and every 25th cut. Each damage is still read
    # by both readers on every change (the conformance vectors in pytest); full scale runs
    # every damage through every read-only command.
    args, scale = common.parse_args(__doc__, truncation_step=(25, 1), full_commands_every=(12, 1),
                                    damage_step=(2, 1))
    figures = common.Figures("corruption matrix (%s)" % args.scale)
    home = common.Home()
    home.activate()
    good = _written_consent(home)
    state = {"cases": 0, "all_off": 0, "not_off": [], "writes": [], "tracebacks": [], "hangs": [],
             "wrong_exit": [], "not_run": [], "same_file": 0}
    # The same file as a policy (ceilings): sealed the same way, so its cuts are detectable too.
    from usagectl import consent

    policy_good = b"\n".join(line for line in good.replace(b"mode = ", b"ceiling = ").split(b"\n")
                              if not line.startswith(b"changed = "))
    assert consent.parse_policy(policy_good, "policy").problem is None, consent.parse_policy(policy_good, "p").problem
    targets = [("consent", home.consent_path, good), ("policy", home.environ["USAGECTL_POLICY_FILE"], policy_good)]
    for which, path, base in targets:
        for number, (name, how) in enumerate(_damages(which)):
            if (number + (which == "policy")) % scale["damage_step"]:
                continue
            run_case(home, state, "%s/%s" % (which, name), path, how, base,
                     number % scale["full_commands_every"] == 0)
            _place(path, b"" if which == "policy" else base, base)
            if which == "policy":
                os.unlink(path)
        for cut in range(0, len(base), scale["truncation_step"]):
            if not base[cut:].strip():
                # Only the final newline cut: the same file, the same decision (not damage).
                state["same_file"] += 1
                continue
            run_case(home, state, "%s/truncated-at-%d" % (which, cut), path, base[:cut], base, False)
            if which == "policy":
                os.unlink(path)
        _place(home.consent_path, good, good)
    truncations = sum(len(range(0, len(base), scale["truncation_step"])) for _, _, base in targets) \
        - state["same_file"]
    figures.add("decision_cases", "%d (%d of them truncations of the %d-byte consent and %d-byte policy "
                "files usagectl wrote)" % (state["cases"], truncations, len(good), len(policy_good)))
    figures.add("truncations_equal_to_the_whole_file", "%d (only the final newline cut: same decision, "
                "exit 0)" % state["same_file"])
    share = 100.0 * state["all_off"] / max(1, state["cases"])
    figures.add("all_off_percent", "%.1f" % share, share == 100.0, "100.0")
    if state["not_off"]:
        figures.add("not_all_off", ", ".join(state["not_off"][:8]), False, "none")

    # Files beside the decision.
    beside = 0
    for label, path in beside_cases(home):
        for name, how in (("fifo", lambda p: os.mkfifo(p)), ("directory", lambda p: os.mkdir(p)),
                          ("binary", bytes(range(256)) * 8), ("nested", b"[" * 100000),
                          ("huge", b"# x\n" * 5_000_000)):
            _place(path, how, b"")
            before = _snapshot(home.root)
            for argv in (("status", "--json"), ("show-last",), ("history",), ("env",)):
                try:
                    code, out, err = _cli(home, *argv)
                except TimeoutError:
                    state["hangs"].append("%s/%s %s" % (label, name, argv[0]))
                    continue
                if "Traceback" in err + out:
                    state["tracebacks"].append("%s/%s %s" % (label, name, argv[0]))
            if _snapshot(home.root) != before:
                state["writes"].append("%s/%s" % (label, name))
            beside += 1
            if os.path.isdir(path) and not os.path.islink(path):
                os.rmdir(path)
            else:
                os.unlink(path)
    figures.add("beside_cases", beside)
    if state["not_run"]:
        figures.add("not_run", "; ".join(state["not_run"]))
    for key in ("writes", "tracebacks", "hangs", "wrong_exit"):
        items = state[key]
        figures.add("%s_by_read_only_commands" % key if key == "writes" else key, len(items), not items, "0")
        if items:
            print("  %s: %s" % (key, "; ".join(items[:6])))
    home.cleanup(args.keep)
    return figures.report()


if __name__ == "__main__":
    raise SystemExit(main())
