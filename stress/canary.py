"""Canary secrets: planted where users keep them, searched for everywhere usagectl writes.

Canaries: Ray's auth_token in ~/.ray/config.json, the Coiled token in a dask YAML file, a
token in Bacalhau's config.yaml, the SMTP password in the environment, a deletion API
token in the keyring's environment fallback. Every command runs against good files, then
against damaged ones (duplicate keys, a syntax error next to the secret), then valid ones
a parser warns about (a reused YAML anchor: the warning quotes the lines), with and
without --json, and the writing commands with --repair. Figures: canaries in any output,
canaries in any file usagectl writes for itself (the byte-identical backups of a
damaged user file are the user's own bytes: counted apart, and their modes checked),
canaries lost from the user's own files, and files usagectl created with group or other
permission bits.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess

import common

CANARIES = {
    "ray": "canary-ray-auth-0b5d",
    "coiled": "canary-coiled-token-77aa",
    "bacalhau": "canary-bacalhau-token-c3e1",
    "smtp": "canary-smtp-password-19f0",
    "http": "canary-http-token-5a6b",
}
GOOD = {
    "ray": json.dumps({"usage_stats": True, "auth_token": CANARIES["ray"]}),
    "coiled": "coiled:\n  token: %s\n  analytics:\n    disabled: false\n" % CANARIES["coiled"],
    "bacalhau": "API:\n    Auth:\n        Token: %s\nDisableAnalytics: false\n" % CANARIES["bacalhau"],
}
DAMAGED = {
    "ray": '{"usage_stats": true, "auth_token": "%s", ' % CANARIES["ray"],
    "coiled": "coiled:\n  token: %s\n  token: %s\n" % (CANARIES["coiled"], CANARIES["coiled"]),
    "bacalhau": "API:\n    Auth:\n        Token: %s\n   bad: [\n" % CANARIES["bacalhau"],
}
#: Valid files that make parsers warn, quoting the lines around the secret.
WARNED = {
    "ray": GOOD["ray"],
    "coiled": "coiled: &a\n  token: %s\nother: &a\n  x: 1\n" % CANARIES["coiled"],
    "bacalhau": "API: &a\n    Auth:\n        Token: %s\nOther: &a\n    x: 1\nDisableAnalytics: false\n"
                % CANARIES["bacalhau"],
}
COMMANDS = [["status"], ["status", "--json"], ["preview"], ["preview", "--json"], ["env"], ["verify"],
            ["verify", "--json"], ["show-last"], ["history"], ["hook", "status"], ["sync"], ["disable"],
            ["enable"], ["disable", "--repair"], ["enable", "--repair"], ["sync", "--repair"],
            ["request-deletion", "--list-ids", "ray", "coiled", "bacalhau"],
            ["request-deletion", "ray", "--dry-run"], ["credentials", "status"]]
#: Created by usagectl with group/other bits on purpose (docs/reliability.md, "File modes").
#: (The hook's .pth goes into a Python's site dir, 0644 so that Python can read it for any
#: user of that interpreter; no command of this suite installs it.)
SHARED_MODES = ("usagectl-hook.pth",)


def _paths(home):
    return {
        "ray": home.ray_config,
        "coiled": os.path.join(home.environ["XDG_CONFIG_HOME"], "dask", "coiled.yaml"),
        "bacalhau": os.path.join(home.home, ".bacalhau", "config.yaml"),
    }


def _plant(home, files):
    for name, path in _paths(home).items():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(files[name])


def _walk(root):
    for base, dirs, files in os.walk(root):
        for name in dirs + files:
            yield os.path.join(base, name)


def main():
    args, _scale = common.parse_args(__doc__)
    figures = common.Figures("canary secrets and file modes (%s)" % args.scale)
    in_output, in_own_files, lost, runs = [], [], [], 0
    backups, loose_modes = [], []
    for variant, files in (("good", GOOD), ("damaged", DAMAGED), ("warned-about", WARNED)):
        home = common.Home()
        home.environ.update({"USAGECTL_SMTP_PASSWORD": CANARIES["smtp"], "USAGECTL_HTTP_TOKEN": CANARIES["http"]})
        home.activate()
        _plant(home, files)
        before = set(_walk(home.root))
        for argv in COMMANDS:
            proc = subprocess.run(common.USAGECTL + argv, env=home.environ, capture_output=True,
                                  timeout=300, stdin=subprocess.DEVNULL)
            runs += 1
            shown = proc.stdout + proc.stderr
            for name, canary in CANARIES.items():
                if canary.encode() in shown:
                    in_output.append("%s %s: %s" % (variant, " ".join(argv), name))
        own_dirs = (home.environ["USAGECTL_CONFIG_DIR"], home.state_dir)
        for directory in own_dirs:
            for path in _walk(directory):
                if not os.path.isfile(path) or os.path.islink(path):
                    continue
                data = open(path, "rb").read()
                for name, canary in CANARIES.items():
                    if canary.encode() in data:
                        in_own_files.append("%s %s: %s" % (variant, path, name))
        for path in set(_walk(home.root)) - before:
            info = os.lstat(path)
            is_backup = ".damaged-" in os.path.basename(path) or ".before-split-" in os.path.basename(path)
            if is_backup:
                backups.append(path)
            if stat.S_ISLNK(info.st_mode):
                continue
            if stat.S_IMODE(info.st_mode) & 0o077 and os.path.basename(path) not in SHARED_MODES \
                    and not path.startswith(home.environ["TMPDIR"]):
                loose_modes.append("%s %o" % (path, stat.S_IMODE(info.st_mode)))
        for name, path in _paths(home).items():
            if name == "coiled":
                continue  # the user's dask file: usagectl never rewrites it, only its own file
            try:
                data = open(path, "rb").read()
            except OSError:
                data = b""
            if CANARIES[name].encode() not in data and variant == "good":
                lost.append("%s %s" % (variant, path))
        home.cleanup(args.keep)
    figures.add("commands_run", runs)
    figures.add("canaries_in_output", len(in_output), not in_output, "0")
    figures.add("canaries_in_usagectl_files", len(in_own_files), not in_own_files, "0")
    figures.add("canaries_lost_from_user_files", len(lost), not lost, "0")
    figures.add("backups_of_damaged_user_files", "%d (byte-identical, mode 0600)" % len(backups))
    figures.add("created_with_group_or_other_bits", len(loose_modes), not loose_modes, "0")
    for item in (in_output + in_own_files + lost + loose_modes)[:12]:
        print("  " + item)
    return figures.report()


if __name__ == "__main__":
    raise SystemExit(main())
