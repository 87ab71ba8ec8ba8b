"""A hostile-payload corpus shown on a real terminal (a pty, colours on).

Hostile strings (CSI, OSC title/clipboard/hyperlink, DCS, C1 controls, BEL, backspace,
carriage return, NUL, bidi overrides, zero-width characters, rich markup, invalid UTF-8)
are planted in every place usagectl shows text it did not write: Ray's usage_stats.json
(session id, extra tags, error), the sent ledger (body, destination, reason,
identifiers), Parsl's log (project name, failure reason), session and run directory
names, history lines. Figures: terminal-driving sequences that reached the screen (all
but colour codes usagectl itself emits), and markup that was interpreted instead of shown.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import time

import common

MARKUP = "[bold red]PWN[/bold red]"
CORPUS = [
    "\x1b[2J\x1b[H", "\x1b]0;PWNED-TITLE\x07", "\x1b]52;c;aGVsbG8=\x07", "\x1b]8;;http://evil.invalid\x1b\\x",
    "\x1bP+q\x1b\\", "\x9b31m", "\x9d0;t\x9c", "\x07\x07", "ab\x08\x08XY", "line\rOVER", "nul\x00byte",
    "\u202egnp.exe", "zero\u200bwidth\u2060", "\u2028sep\u2029", "\x1b[6n", "\x1b[?1049h", "\x1bc", MARKUP,
    "[link=http://evil.invalid]click[/link]", ":smiley: [/] [", "\ufeffbom", "\x7fdel",
]
COMBINED = "".join(CORPUS)
ALLOWED_CSI = re.compile(rb"\x1b\[[0-9;]*m")
FORBIDDEN = [b"\x07", b"\x00", b"\x08", "\x9b".encode(), "\x9d".encode(), "\x9c".encode(), "\u202e".encode(),
             "\u200b".encode(), "\u2028".encode(), "\u2029".encode(), "\ufeff".encode(), b"\x7f"]
RAY_SESSION = os.path.join(common.ROOT, "tests", "fixtures", "ray", "enabled",
                           "session_2026-11-24_00-02-40_976526_5951")


def plant(home, copies):
    from usagectl import _ledger

    tmp = home.environ["TMPDIR"]
    for index in range(copies):
        hostile = CORPUS[index % len(CORPUS)] + COMBINED
        name = "session_2026-11-2%d_00-00-00_%06d_%d%s" % (index % 9, index, 100 + index,
                                                         "".join(c for c in CORPUS[index % len(CORPUS)]
                                                                 if c not in "/\x00") or "x")
        session = os.path.join(tmp, "ray", name)
        shutil.copytree(RAY_SESSION, session)
        path = os.path.join(session, "usage_stats.json")
        document = json.load(open(path))
        document["usage_stats"]["session_id"] = hostile
        document["usage_stats"]["extra_usage_tags"] = {hostile: hostile}
        document["error"] = hostile
        with open(path, "w") as handle:
            json.dump(document, handle)
        _ledger.record_sent("ray", "https://" + hostile, hostile.encode() + b"\xff\xfe", outcome="failed",
                            reason=hostile, identifiers={"session_id": hostile}, environ=home.environ)
        _ledger.record_sent("coiled", hostile, hostile, outcome="sent", identifiers={hostile: hostile},
                            environ=home.environ)
    import pathlib
    import sys

    sys.path.insert(0, os.path.join(common.ROOT, "tests"))
    from test_hostile_payloads import hostile_parsl_log  # the same planting the tests use

    run_dir = os.path.join(home.root, "work", "runinfo", "00" + MARKUP.replace("/", "_"))
    hostile_parsl_log(pathlib.Path(run_dir), COMBINED)
    with open(os.path.join(run_dir, "parsl.log"), "ab") as handle:
        handle.write(b"\n1795478700.0 2026-11-24 00:05:00 MainProcess-1 MainThread-2 parsl.usage_tracking.usage:1 "
                     b"send_message DEBUG: Usage tracking failed: " + COMBINED.encode("utf-8", "surrogatepass"))
    os.makedirs(os.path.dirname(home.history_path), exist_ok=True)
    with open(home.history_path, "ab") as handle:
        handle.write(json.dumps({"time": "2026-11-24T08:00:00Z", "command": COMBINED, "event": "change",
                                 "entry": COMBINED, "framework": COMBINED, "from": COMBINED,
                                 "to": "off"}).encode() + b"\n")
    return run_dir


def on_pty(home, argv, timeout=120):
    """Run usagectl with a pseudo-terminal as stdin, stdout and stderr; returns its bytes."""
    master, slave = os.openpty()
    env = dict(home.environ, TERM="xterm-256color", COLUMNS="160", LINES="50")
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(common.USAGECTL + argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                            start_new_session=True)
    os.close(slave)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
        proc.wait(30)
    return b"".join(chunks), proc.returncode


def main():
    args, scale = common.parse_args(__doc__, copies=(6, 60))
    figures = common.Figures("hostile payloads on a terminal (%s)" % args.scale)
    home = common.Home()
    home.activate()
    work = plant(home, scale["copies"])
    commands = [["show-last", "-n", "200", "--path", work], ["show-last", "--json", "-n", "200", "--path", work],
                ["show-last", "ray", "-n", "5", "--raw"], ["status"], ["history"], ["preview", "ray"],
                ["request-deletion", "--list-ids", "ray", "parsl", "coiled", "--path", work],
                ["show-last", "parsl", "--path", work, "-n", "5"]]
    hostile = interpreted = shown_bytes = 0
    colour = False
    examples = []
    for argv in commands:
        output, _code = on_pty(home, argv)
        shown_bytes += len(output)
        colour = colour or bool(ALLOWED_CSI.search(output))
        for forbidden in FORBIDDEN:
            found = output.count(forbidden)
            hostile += found
            if found and len(examples) < 5:
                examples.append("%s: %r" % (argv[0], forbidden))
        for match in re.finditer(rb"\x1b(?!\[[0-9;]*m)", output):
            hostile += 1
            if len(examples) < 5:
                examples.append("%s: %r" % (argv[0], output[match.start():match.start() + 12]))
        if b"Traceback" in output:
            hostile += 1000
            examples.append("%s: traceback" % argv[0])
    # The markup must be shown as typed somewhere (show-last prints the project name).
    output, _ = on_pty(home, ["show-last", "parsl", "--path", work, "-n", "5"])
    if MARKUP.encode() not in output.replace(b"\r\n", b"\n").replace(b"\n", b""):
        interpreted += 1
    figures.add("corpus", "%d hostile strings x %d copies, %d commands, %d bytes shown, SGR colour codes: %s"
                % (len(CORPUS), scale["copies"], len(commands), shown_bytes, colour))
    figures.add("terminal_sequences_from_payloads", hostile, hostile == 0, "0")
    figures.add("markup_interpreted", interpreted, interpreted == 0, "0")
    for example in examples:
        print("  " + example)
    home.cleanup(args.keep)
    return figures.report()


if __name__ == "__main__":
    raise SystemExit(main())
