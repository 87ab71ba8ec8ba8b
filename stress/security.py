"""The security stage: every attack of docs/security.md, and variations, against root.

Each attack is one function: it builds a fresh scratch tree (a system root, a home, a
victim file root owns), plants what an unprivileged attacker (uid 65534, through
``setpriv``) or a hostile file could plant, runs usagectl as root, and returns True when
the attacker got what they wanted: a root-owned file changed or created where they
pointed, code of theirs run as root, a policy of theirs believed, a directive or
command injected into an export, a secret printed, a hang, a hidden character shown raw.

Figures: ``<surface> attempts`` and ``<surface> succeeded`` per surface, and
``succeeded`` over all; every ``succeeded`` must be 0. ``tests/test_security.py`` runs
the same catalogue, one test per attack.

Safety: it needs root (it plays root and another user) and runs itself inside a fresh
mount namespace (``unshare --mount``) with a tmpfs over every system directory a
mistake could reach (/etc/xdg, /etc/dask, /etc/systemd/system, /var/log), and every
``--system`` run has USAGECTL_SYSTEM_ROOT set to its scratch tree, so nothing of the
machine's /etc, /var or /usr can change; the last figure counts what landed in those
tmpfs mounts (0). No network: nothing here opens a socket but to a closed loopback port.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile

import common

NOBODY = 65534
AS_NOBODY = ["setpriv", "--reuid", str(NOBODY), "--regid", str(NOBODY), "--clear-groups"]
PYTHON = sys.executable
USAGECTL = os.path.join(os.path.dirname(PYTHON), "usagectl")
#: The system directories a mistake could write, covered by a tmpfs in the namespace.
GUARDED = ("/etc/xdg", "/etc/dask", "/etc/systemd/system", "/var/log")
HANG_SECONDS = 20


class Scratch:
    """One attack's world: ``root`` (the system root), ``home``, ``victim`` (root's file)."""

    def __init__(self):
        self.base = tempfile.mkdtemp(prefix="usec-", dir="/tmp")
        os.chmod(self.base, 0o755)  # the attacker may reach what it owns inside
        self.root = os.path.join(self.base, "root")
        self.home = os.path.join(self.base, "home")
        self.victim = os.path.join(self.base, "victim.conf")
        for path in (self.root, self.home):
            os.makedirs(path, mode=0o755)
            os.chmod(path, 0o755)
        with open(self.victim, "w") as handle:
            handle.write("root's own file\n")
        self.environ = common.Home(os.path.join(self.base, "h")).environ
        self.environ.update({"HOME": self.home, "USAGECTL_SYSTEM_ROOT": self.root,
                             "USAGECTL_CONFIG_DIR": os.path.join(self.home, ".config", "usagectl"),
                             "USAGECTL_STATE_DIR": os.path.join(self.home, ".local", "state", "usagectl"),
                             "XDG_CONFIG_HOME": os.path.join(self.home, ".config")})
        if os.environ.get("PYTHONPATH"):  # to run the catalogue against another checkout
            self.environ["PYTHONPATH"] = os.environ["PYTHONPATH"]
        # Users read the policy the scratch root holds (as the tests do); --system itself
        # never takes its location from this variable.
        self.environ["USAGECTL_POLICY_FILE"] = self.at(POLICY)
        self.environ.pop("XDG_CONFIG_DIRS", None)

    def at(self, system_path):
        return os.path.join(self.root, system_path.lstrip("/"))

    def mkdirs(self, system_dir, mode=0o755, owner=0):
        path = self.at(system_dir)
        os.makedirs(path, exist_ok=True)
        probe = path
        while probe != self.root:
            os.chmod(probe, 0o755)
            probe = os.path.dirname(probe)
        os.chmod(path, mode)
        os.chown(path, owner, owner)
        return path

    def run(self, *args, env=None, timeout=120, cwd=None, umask=None):
        environ = dict(self.environ)
        environ.update(env or {})
        preexec = (lambda: os.umask(umask)) if umask is not None else None
        try:
            return subprocess.run([USAGECTL, *args], capture_output=True, text=True, env=environ,
                                  timeout=timeout, cwd=cwd or self.base, preexec_fn=preexec)
        except subprocess.TimeoutExpired:
            return None

    def victim_intact(self):
        with open(self.victim) as handle:
            return handle.read() == "root's own file\n" and os.lstat(self.victim).st_nlink == 1

    def cleanup(self):
        shutil.rmtree(self.base, ignore_errors=True)


def as_nobody(*argv, cwd=None):
    return subprocess.run(AS_NOBODY + list(argv), capture_output=True, text=True, timeout=60, cwd=cwd)


def _changed_or_created(path, before=None):
    return os.path.lexists(path) if before is None else _read(path) != before


def _read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


# ---------------------------------------------------------------------------
# --system: links, owners, modes, FIFOs, the scratch root

DASK = "/etc/dask/zz-usagectl.yaml"
POLICY = "/etc/xdg/usagectl/policy.toml"
HISTORY = "/var/log/usagectl/policy-history.jsonl"


def attack_link_at_system_dask_file(s):
    s.mkdirs("/etc/dask")
    os.symlink(s.victim, s.at(DASK))
    s.run("--system", "disable")
    return not s.victim_intact()


def attack_directory_link_at_etc_dask(s):
    s.mkdirs("/etc")
    elsewhere = os.path.join(s.base, "elsewhere")
    os.mkdir(elsewhere)
    os.symlink(elsewhere, s.at("/etc/dask"))
    s.run("--system", "disable")
    return bool(os.listdir(elsewhere))


def attack_directory_link_at_history_dir(s):
    s.mkdirs("/var/log")
    elsewhere = os.path.join(s.base, "elsewhere")
    os.mkdir(elsewhere)
    os.symlink(elsewhere, s.at("/var/log/usagectl"))
    s.run("--system", "disable")
    return bool(os.listdir(elsewhere))


def attack_dangling_policy_link(s):
    s.mkdirs("/etc/xdg/usagectl")
    target = os.path.join(s.base, "planted", "policy.toml")
    os.makedirs(os.path.dirname(target))
    os.symlink(target, s.at(POLICY))
    s.run("--system", "disable")
    return os.path.lexists(target) or os.path.lexists(target + ".lock")


def attack_link_at_policy_lock(s):
    s.mkdirs("/etc/xdg/usagectl")
    os.symlink(s.victim, s.at(POLICY) + ".lock")
    s.run("--system", "disable")
    return not s.victim_intact()


def attack_link_planted_by_owner_of_etc_dask(s):
    # The attacker owns /etc/dask (a careless chown) and plants the link as themselves.
    s.mkdirs("/etc/dask", owner=NOBODY)
    as_nobody("ln", "-s", s.victim, s.at(DASK))
    s.run("--system", "disable")
    return not s.victim_intact()


def attack_group_writable_policy_dir(s):
    s.mkdirs("/etc/xdg/usagectl", mode=0o777)
    s.run("--system", "disable")
    return os.path.exists(s.at(POLICY))  # root wrote where others can swap it


def attack_hard_link_at_history(s):
    s.mkdirs("/var/log/usagectl")
    os.link(s.victim, s.at(HISTORY))
    s.run("--system", "disable")
    return not s.victim_intact() and _read(s.victim) != b"root's own file\n"


def attack_umask_000_makes_writable_dirs(s):
    s.mkdirs("/etc")
    s.mkdirs("/var")
    s.run("--system", "disable", umask=0)
    loose = []
    for base, dirs, files in os.walk(s.root):
        for name in dirs + files:
            mode = stat.S_IMODE(os.lstat(os.path.join(base, name)).st_mode)
            if mode & 0o022:
                loose.append(os.path.join(base, name))
    return bool(loose)


def attack_umask_077_hides_the_system_dask_file(s):
    s.run("--system", "disable", umask=0o077)
    status = s.run("--system", "status", "--json")
    says_off = status is not None and "Coiled analytics off for every user" in status.stdout
    dask = s.at(DASK)
    unreadable = os.path.exists(dask) and not (os.stat(dask).st_mode & 0o004
                                               and os.stat(os.path.dirname(dask)).st_mode & 0o001)
    history = s.at(HISTORY)
    private_history = os.path.exists(history) and not os.stat(history).st_mode & 0o004
    return (says_off and unreadable) or private_history or not os.path.exists(s.at(DASK))


def attack_fifo_unit_file(s):
    units = s.mkdirs("/etc/systemd/system")
    os.mkfifo(os.path.join(units, "bacalhau.service"))
    results = [s.run("--system", cmd, timeout=HANG_SECONDS) for cmd in ("status", "disable", "sync")]
    return any(r is None for r in results)


def attack_fifo_system_dask_file(s):
    s.mkdirs("/etc/dask")
    os.mkfifo(s.at(DASK))
    return s.run("--system", "status", timeout=HANG_SECONDS) is None


def attack_history_refused_policy_lands_alone(s):
    s.mkdirs("/var/log/usagectl")
    os.mkdir(s.at(HISTORY))  # a directory where the history goes: the append is refused
    result = s.run("--system", "disable")
    return os.path.exists(s.at(POLICY)) or result is None or result.returncode == 0


def attack_scratch_reset_reaches_the_host_policy(s):
    host_policy = os.path.join(s.base, "host-etc", "policy.toml")
    os.makedirs(os.path.dirname(host_policy))
    with open(host_policy, "w") as handle:
        handle.write('schema = 1\n[default]\nceiling = "off"\n')
    before = _read(host_policy)
    s.run("--system", "reset", env={"USAGECTL_POLICY_FILE": host_policy})
    return _read(host_policy) != before or not os.path.exists(s.at(HISTORY)) and os.path.exists(
        os.path.join(os.path.dirname(host_policy), "policy-history.jsonl"))


def attack_root_check_skipped_by_slash_root(s):
    # Another user sets USAGECTL_SYSTEM_ROOT=/ to get past the root check.
    environ = dict(s.environ, USAGECTL_SYSTEM_ROOT="/", HOME="/tmp")
    proc = subprocess.run(AS_NOBODY + [USAGECTL, "--system", "disable", "--json"], capture_output=True,
                          text=True, env=environ, timeout=60, cwd="/")
    return proc.returncode == 0


# ---------------------------------------------------------------------------
# The hook in an interpreter root runs

def _system_venv(s):
    """A venv inside the scratch root, as an image's /opt/venv would be."""
    venv = s.mkdirs("/opt/venv")
    subprocess.run([PYTHON, "-m", "venv", "--without-pip", venv], check=True, timeout=120)
    purelib = subprocess.run([os.path.join(venv, "bin", "python"), "-c",
                              "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    return "/opt/venv/bin/python", purelib


def attack_hook_from_a_usagectl_another_user_owns(s):
    python, purelib = _system_venv(s)
    copy = os.path.join(s.base, "userinstall")
    shutil.copytree(os.path.join(common.ROOT, "usagectl"), os.path.join(copy, "usagectl"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(["chown", "-R", "%d:%d" % (NOBODY, NOBODY), copy], check=True)
    environ = dict(s.environ, PYTHONPATH=copy)
    codes = [subprocess.run([PYTHON, "-m", "usagectl", "--system", "sync", "--python", form], capture_output=True,
                            text=True, env=environ, timeout=120, cwd=s.base).returncode for form in _forms(s, python)]
    return 0 in codes or os.path.exists(os.path.join(purelib, "usagectl-hook.pth"))


def _forms(s, python):
    """The interpreter named inside the scratch root and by its host path: whichever a
    release takes, the attack must fail with both."""
    return (python, s.at(python))


def attack_interpreter_another_user_owns(s):
    s.mkdirs("/opt/evil/bin", owner=NOBODY)
    marker = os.path.join(s.base, "ran-as-root")
    fake = s.at("/opt/evil/bin/python")
    with open(fake, "w") as handle:
        handle.write("#!/bin/sh\ntouch %s\n" % marker)
    os.chmod(fake, 0o755)
    os.chown(fake, NOBODY, NOBODY)
    s.run("--system", "sync", "--python", "/opt/evil/bin/python")
    s.run("hook", "install", "--python", fake)
    return os.path.exists(marker)


def attack_group_writable_site_packages(s):
    python, purelib = _system_venv(s)
    os.chmod(purelib, 0o775)
    for form in _forms(s, python):
        s.run("--system", "sync", "--python", form)
    return os.path.exists(os.path.join(purelib, "usagectl-hook.pth"))


def attack_pth_names_code_outside_site_packages(s):
    python, purelib = _system_venv(s)
    result = s.run("--system", "sync", "--python", python)
    pth = os.path.join(purelib, "usagectl-hook.pth")
    if result is None or not os.path.exists(pth):
        return True  # the legitimate install must work
    import re

    text = _read(pth).decode("utf-8")
    named = set(re.findall(r"(/[^'\"\s]+\.py)", text))
    outside = [p for p in named if not os.path.realpath(p).startswith(os.path.realpath(purelib) + os.sep)]
    foreign = [p for p in named if os.path.exists(p) and os.stat(p).st_uid != 0]
    return bool(outside or foreign or not named)


def attack_usagectl_planted_in_the_working_directory(s):
    python, purelib = _system_venv(s)
    for form in _forms(s, python):
        s.run("--system", "sync", "--python", form)
    planted = os.path.join(s.base, "cwd")
    marker = os.path.join(s.base, "planted-ran")
    os.makedirs(os.path.join(planted, "usagectl"))
    os.makedirs(os.path.join(planted, "coiled"))
    with open(os.path.join(planted, "usagectl", "__init__.py"), "w") as handle:
        handle.write("open(%r, 'w').close()\n" % marker)
    with open(os.path.join(planted, "coiled", "__init__.py"), "w") as handle:
        handle.write("")
    with open(os.path.join(planted, "coiled", "analytics.py"), "w") as handle:
        handle.write("def register(*a, **k):\n    return 'registered'\n")
    subprocess.run([s.at(python), "-c", "import coiled.analytics"], cwd=planted, capture_output=True,
                   env=dict(s.environ, PYTHONPATH=planted), timeout=60)
    return os.path.exists(marker)


# ---------------------------------------------------------------------------
# Exports: a hostile [blackhole] must not become a directive, an instruction or a command

HOSTILE_URLS = (
    "http://127.0.0.1:9/\nExecStartPre=/bin/sh -c 'touch /tmp/pwned'",
    "http://127.0.0.1:9/\r\nRUN touch /tmp/pwned",
    "http://127.0.0.1:9/$(touch /tmp/pwned)",
    "http://127.0.0.1:9/`touch /tmp/pwned`",
    "http://127.0.0.1:9/\"; touch /tmp/pwned; \"",
    "http://127.0.0.1:9/' ; touch /tmp/pwned ; '",
    "javascript:alert(1)",
    "http://127.0.0.1:9/\x00x",
)
FORMATS = ("systemd", "k8s-env", "dockerfile")


def _blackhole_attack(fmt, url):
    def attack(s):
        s.run("disable")
        settings = os.path.join(s.environ["USAGECTL_CONFIG_DIR"], "settings.toml")
        with open(settings, "w", encoding="utf-8") as handle:
            handle.write("[blackhole]\nray = %s\n" % json.dumps(url))
        result = s.run("export", fmt)
        if result is None:
            return True
        text = result.stdout
        return "pwned" in text or "javascript:" in text or "ExecStartPre" in text or "\nRUN touch" in text
    attack.__name__ = "attack_blackhole_%s_%d" % (fmt.replace("-", "_"), HOSTILE_URLS.index(url))
    return attack


# ---------------------------------------------------------------------------
# Secrets, another user's home, links in one's own home, the terminal

def attack_crlf_token_printed(s):
    secret = "tok-SECRET-1234"
    settings = os.path.join(s.environ["USAGECTL_CONFIG_DIR"], "settings.toml")
    os.makedirs(os.path.dirname(settings), exist_ok=True)
    with open(settings, "w") as handle:
        handle.write('[deletion.http]\nurl = "https://127.0.0.1:9/delete"\n')
    sys.path.insert(0, common.ROOT)
    from usagectl.deletion import deliver_http, secrets

    printed = []
    got, _source, problem = secrets.lookup({"USAGECTL_HTTP_TOKEN": secret + "\r\n"}, "http")
    printed.append(problem or "")
    if got is not None:
        printed.append(got)

    class Settings:
        cafile, timeout = None, 2

    try:
        deliver_http.post("https://127.0.0.1:9/delete", b"{}", secret + "\r\nX: y", "k", Settings(),
                          sleep=lambda _s: None)
    except Exception as exc:
        printed.append(str(exc))
    return any(secret in text for text in printed)


def attack_root_writes_into_another_users_home(s):
    with open(s.victim, "w") as handle:
        handle.write('{"usage_stats": true}')  # what a release would rewrite through the link
    before = _read(s.victim)
    os.chown(s.home, NOBODY, NOBODY)
    as_nobody("mkdir", "-p", os.path.join(s.home, ".ray"))
    as_nobody("ln", "-s", s.victim, os.path.join(s.home, ".ray", "config.json"))
    for command in (("disable",), ("sync",), ("enable", "ray")):
        s.run(*command)
    return _read(s.victim) != before


def attack_dangling_consent_link(s):
    consent_dir = s.environ["USAGECTL_CONFIG_DIR"]
    os.makedirs(consent_dir, exist_ok=True)
    target = os.path.join(s.base, "dotfiles", "consent.toml")
    os.makedirs(os.path.dirname(target))
    os.symlink(target, os.path.join(consent_dir, "consent.toml"))
    s.run("disable")
    return os.path.lexists(target) or os.path.lexists(target + ".lock")


INVISIBLE = ("\U000e0041", "\u00ad", "\u180e", "\u034f", "\ufff9", "\u202e", "\u2066", "\x9b", "\x1b[2J",
             "\ue000", "\u200d")


def attack_fleet_host_name_hides_text(s):
    envelopes = os.path.join(s.base, "envelopes")
    os.mkdir(envelopes)
    for index, char in enumerate(INVISIBLE):
        with open(os.path.join(envelopes, "host%d%sx.json" % (index, char)), "w") as handle:
            handle.write("{not json")
    result = s.run("fleet", envelopes)
    if result is None:
        return True
    return any(char in result.stdout or char in result.stderr for char in INVISIBLE)


# ---------------------------------------------------------------------------
# The readers: a policy someone else could have written is no policy

def _policy_attack(how):
    def attack(s):
        directory = os.path.join(s.base, "etc", "xdg", "usagectl")
        os.makedirs(directory)
        for path in (directory, os.path.dirname(directory), os.path.dirname(os.path.dirname(directory))):
            os.chmod(path, 0o755)
        policy = os.path.join(directory, "policy.toml")
        with open(policy, "w") as handle:
            handle.write('schema = 1\n[default]\nceiling = "on"\n')
        os.chmod(policy, 0o644)
        if how == "owner":
            os.chown(policy, NOBODY, NOBODY)
        elif how == "file-mode":
            os.chmod(policy, 0o666)
        elif how == "dir-mode":
            os.chmod(directory, 0o777)
        elif how == "dir-owner":
            os.chown(directory, NOBODY, NOBODY)
        sys.path.insert(0, common.ROOT)
        from usagectl import consent

        believed = consent.read_policy(policy).problem is None
        go = _go_reader()
        if go:
            out = subprocess.run([go, "ray"], capture_output=True, text=True, timeout=60,
                                 env=dict(s.environ, USAGECTL_POLICY_FILE=policy))
            believed = believed or out.returncode != 0 or json.loads(out.stdout)[0]["problems"] == []
        return believed
    attack.__name__ = "attack_policy_%s" % how.replace("-", "_")
    return attack


_GO = {}


def _go_reader():
    """The Go reader's command, built once (None without Go)."""
    if "bin" not in _GO:
        _GO["bin"] = None
        if shutil.which("go"):
            out = os.path.join(tempfile.mkdtemp(prefix="usec-go-"), "usage-consent")
            built = subprocess.run(["go", "build", "-o", out, "./cmd/usage-consent"], capture_output=True,
                                   cwd=os.path.join(common.ROOT, "reader", "go"), timeout=300)
            _GO["bin"] = out if built.returncode == 0 else None
    return _GO["bin"]


# ---------------------------------------------------------------------------

SURFACES = {
    "system files": [attack_link_at_system_dask_file, attack_directory_link_at_etc_dask,
                     attack_directory_link_at_history_dir, attack_dangling_policy_link, attack_link_at_policy_lock,
                     attack_link_planted_by_owner_of_etc_dask, attack_group_writable_policy_dir,
                     attack_hard_link_at_history, attack_umask_000_makes_writable_dirs,
                     attack_umask_077_hides_the_system_dask_file, attack_fifo_unit_file, attack_fifo_system_dask_file,
                     attack_history_refused_policy_lands_alone],
    "scratch root": [attack_scratch_reset_reaches_the_host_policy, attack_root_check_skipped_by_slash_root],
    "hook": [attack_hook_from_a_usagectl_another_user_owns, attack_interpreter_another_user_owns,
             attack_group_writable_site_packages, attack_pth_names_code_outside_site_packages,
             attack_usagectl_planted_in_the_working_directory],
    "exports": [_blackhole_attack(fmt, url) for fmt in FORMATS for url in HOSTILE_URLS],
    "secrets": [attack_crlf_token_printed],
    "homes": [attack_root_writes_into_another_users_home, attack_dangling_consent_link],
    "terminal": [attack_fleet_host_name_hides_text],
    "policy readers": [_policy_attack(how) for how in ("owner", "file-mode", "dir-mode", "dir-owner")],
}


def run_attack(attack):
    """True when the attack succeeded; an attack that breaks counts as succeeded."""
    scratch = Scratch()
    try:
        return bool(attack(scratch))
    finally:
        scratch.cleanup()


def _guarded_contents():
    found = []
    for directory in GUARDED:
        for base, dirs, files in os.walk(directory):
            found.extend(os.path.join(base, n) for n in files + dirs)
    return found


def attack_named(name):
    for attacks in SURFACES.values():
        for attack in attacks:
            if attack.__name__ == name:
                return attack
    raise SystemExit("no attack %r" % name)


def inner_one(name):
    """One attack, as tests/test_security.py runs it: one JSON line."""
    try:
        succeeded, error = run_attack(attack_named(name)), None
    except Exception as exc:
        succeeded, error = True, repr(exc)
    print(json.dumps({"attack": name, "succeeded": succeeded, "error": error, "leaked": _guarded_contents()}))
    return 0


def namespaced(argv):
    """Run this script with ``argv`` inside a new mount namespace whose system directories
    are tmpfs mounts (see the module's docstring)."""
    mounts = " && ".join("mount -t tmpfs -o mode=0755 tmpfs %s" % d for d in GUARDED if os.path.isdir(d))
    script = "%s%sexec %s %s %s" % (mounts, " && " if mounts else "", PYTHON, os.path.abspath(__file__),
                                    " ".join(argv))
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]


def usable():
    """Can this machine run the catalogue (root, setpriv, unshare)?"""
    return hasattr(os, "geteuid") and os.geteuid() == 0 and bool(shutil.which("setpriv") and shutil.which("unshare"))


def inner():
    figures = common.Figures("security: attacks on root, exports, secrets and readers")
    total = 0
    for surface, attacks in SURFACES.items():
        succeeded = []
        for attack in attacks:
            try:
                if run_attack(attack):
                    succeeded.append(attack.__name__)
            except Exception as exc:  # a broken attack is not a defended one
                succeeded.append("%s (%r)" % (attack.__name__, exc))
        total += len(succeeded)
        figures.add("%s attempts" % surface, len(attacks))
        figures.add("%s succeeded" % surface, len(succeeded) if not succeeded else "%d: %s" % (
            len(succeeded), ", ".join(succeeded)), ok=not succeeded, want="0")
    figures.add("attempts", sum(len(a) for a in SURFACES.values()))
    figures.add("succeeded", total, ok=total == 0, want="0")
    leaked = _guarded_contents()
    figures.add("files written under the machine's system directories", len(leaked), ok=not leaked, want="0")
    return figures.report()


def main(argv):
    if "--attack" in argv:
        return inner_one(argv[argv.index("--attack") + 1])
    if "--inner" in argv:
        return inner()
    if not usable():
        print("# security: needs root, setpriv and unshare (it plays root and another user); not run")
        return 1 if os.environ.get("CI") else 0
    with contextlib.suppress(KeyboardInterrupt):
        return subprocess.run(namespaced(["--inner"]), timeout=1800).returncode
    return 130


if __name__ == "__main__":
    if "--inner" not in sys.argv and "--attack" not in sys.argv:
        common.parse_args(__doc__.splitlines()[0])  # --scale: the catalogue is the same at both
    raise SystemExit(main(sys.argv[1:]))
