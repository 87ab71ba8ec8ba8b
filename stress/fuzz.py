"""Hypothesis fuzzing of every reader usagectl points at files it doesn't control.

Each reader gets N generated inputs: raw bytes, text, and valid inputs with bytes
flipped, cut, duplicated or inserted (and absurdly nested JSON). A reader may answer
"damaged" in its documented way (a Problem, a skipped record, FrameworkFileDamaged);
anything else it raises is an uncaught exception. The TOML subset parser is also
checked against tomllib: where it answers, it must answer the same.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
import traceback

import common
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

VALID = {
    "consent": (b'# usagectl consent file, sealed: x\nschema = 1\n\n[default]\nmode = "on"\n'
                b'changed = 2026-11-24T08:00:00Z\n\n[frameworks.ray]\nmode = "off"\n\n'
                b'[frameworks.parsl]\nmode = "local"\nlevel = 2\n# end of usagectl consent file\n'),
    "policy": b'schema = 1\n[default]\nceiling = "local"\nlevel = 1\nmessage = "IT 7.3"\n',
    "json": b'{"usage_stats": false, "auth_token": "x", "n": [1, 2.5, null, {"a": "b"}]}',
    "yaml": (b'# comment\nAPI:\n  Host: "x"\nDisableAnalytics: true\nUpdateConfig:\n    Interval: 0s\n'
             b'list:\n  - a\n  - 2\n'),
    "ledger": (b'{"v":1,"time":"2026-11-24T00:02:46.123456Z","framework":"ray","destination":"https://x/",'
               b'"outcome":"sent","reason":null,"body":"{\\"a\\": 1}","body_base64":null,'
               b'"identifiers":{"session_id":"s"},"pid":1}'),
    "ray": (b'{"usage_stats": {"session_id": "abc", "seq_number": 3, "total_num_nodes": 1, '
            b'"extra_usage_tags": {"k": "v"}}, "success": true, "error": null}'),
    "parsl-text": (b"1795478600.5 2026-11-24 00:02:40 MainProcess-1 MainThread-2 parsl.usage_tracking.usage:210 "
                   b"send_message INFO: Sending start message: {'correlator': 'c', 'parsl_v': '2026.10.26', "
                   b"'python_v': '3.11.7', 'platform.system': 'Linux', 'start': 1795478600, "
                   b"'components': []}\n"),
    "history": (b'{"command": "usagectl disable", "entry": "default", "event": "change", "framework": null, '
                b'"from": null, "from_level": null, "level": null, "time": "2026-11-24T08:00:00Z", "to": "off"}\n'),
}


def mutated(valid):
    """Valid bytes with a few edits: flips, cuts, duplications, insertions of hostile bits."""
    hostile = st.sampled_from([b"\x00", b"\xff", b"\n", b"[" * 3000, b"{" * 3000, b'"', b"\\", b"\x1b[31m",
                               b"=", b"[[", b"]]", b"\r", b"\u2028".decode("unicode_escape").encode(),
                               b"\xe2\x80\xa8", b"\xc2\x85", b"99999999999999999999999", b"-0", b"inf",
                               b"1e999", b"0x", b"&a", b"*a", b"!!python/object:os.system", b"\t"])
    edit = st.tuples(st.sampled_from(["flip", "cut", "dup", "insert"]), st.integers(0, len(valid)),
                     st.integers(0, 64), hostile)

    def apply(edits):
        data = bytearray(valid)
        for kind, at, length, piece in edits:
            at = min(at, len(data))
            if kind == "flip" and data:
                data[min(at, len(data) - 1)] ^= 1 << (length % 8)
            elif kind == "cut":
                del data[at:at + length]
            elif kind == "dup":
                data[at:at] = data[at:at + length]
            else:
                data[at:at] = piece
        return bytes(data)

    return st.lists(edit, min_size=1, max_size=6).map(apply)


def inputs(kind):
    return st.one_of(st.binary(max_size=3000), st.text(max_size=1500).map(lambda t: t.encode("utf-8", "surrogatepass")),
                     mutated(VALID[kind]), mutated(VALID[kind]), mutated(VALID[kind]))


class Reader:
    def __init__(self, name, kind, call, allowed=()):
        self.name, self.kind, self.call, self.allowed = name, kind, call, allowed
        self.runs = 0
        self.failures = []


def _in_file(data, suffix, directory):
    path = os.path.join(directory, "input" + suffix)
    with open(path, "wb") as handle:
        handle.write(data)
    return path


def readers(home):
    from usagectl import _ledger, _minitoml, consent
    from usagectl.core import jsonfile, ledger_scan, store, yamlfile
    from usagectl.core.environment import Environment
    from usagectl.core.errors import FrameworkFileDamaged
    from usagectl.frameworks.bacalhau import framework as bacalhau
    from usagectl.frameworks.coiled import framework as coiled
    from usagectl.frameworks.parsl import records as parsl_records
    from usagectl.frameworks.ray import records as ray_records

    scratch = tempfile.mkdtemp(dir=home.root)
    environ = dict(home.environ)

    def minitoml_vs_tomllib(data):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return
        mine = _minitoml.loads(text)
        if mine is None:
            return
        try:
            theirs = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            raise AssertionError("the subset parser accepted what tomllib rejects")
        if mine != theirs:
            raise AssertionError("the subset parser and tomllib disagree")

    def consent_never_raises(data):
        snapshot = consent.parse_consent(data, "consent.toml")
        assert snapshot.problem is not None or isinstance(snapshot.frameworks, dict)
        consent.decide("ray", environ={}, consent=snapshot,
                       policy=consent.Snapshot("policy.toml", exists=False))

    def policy_never_raises(data):
        snapshot = consent.parse_policy(data, "policy.toml")
        consent.decide("parsl", environ={}, consent=consent.Snapshot("c", exists=False), policy=snapshot)

    def ledger_scan_file(data):
        path = _in_file(data, ".jsonl", scratch)
        ledger_scan.scan(environ, ["ray", "parsl", "bacalhau", "coiled"], limit=None, trust=True, path=path)

    def parsl_log(data):
        parsl_records.read_log(_in_file(data, ".log", scratch), trust=True)
        parsl_records.read_log(_in_file(data, ".jsonlog", scratch), trust=True)

    def history_file(data):
        path = _in_file(data, ".jsonl", scratch)
        store.read_history(path)
        store.read_history(path, last=3)

    def bacalhau_config(data):
        doc, _problem = bacalhau._read_config(_in_file(data, ".yaml", scratch), environ)

    def dask_file(data):
        try:
            coiled._load_file(_in_file(data, ".yaml", scratch))
        except coiled.MalformedConfig:
            pass

    def ray_config_as_ray_reads_it(data):
        path = _in_file(data, ".json", scratch)
        os.makedirs(os.path.join(home.home, ".ray"), exist_ok=True)
        os.replace(path, os.path.join(home.home, ".ray", "config.json"))
        from usagectl import frameworks

        frameworks.get("ray").native_state(Environment(environ=environ, argv=[]))

    return [
        Reader("consent.parse_consent + decide", "consent", consent_never_raises),
        Reader("consent.parse_policy + decide", "policy", policy_never_raises),
        Reader("_minitoml vs tomllib", "consent", minitoml_vs_tomllib),
        Reader("jsonfile.parse_object", "json", lambda d: jsonfile.parse_object(d, "f.json"), (FrameworkFileDamaged,)),
        Reader("yamlfile.load_mapping", "yaml", lambda d: yamlfile.load_mapping(d, "f.yaml"), (FrameworkFileDamaged,)),
        Reader("_ledger.decode_entry", "ledger", _ledger.decode_entry),
        Reader("ledger_scan.scan (file)", "ledger", ledger_scan_file),
        Reader("ray payload_from_file", "ray",
               lambda d: ray_records.payload_from_file(d, "u.json", "session_x", environ)),
        Reader("ray native_state (config.json)", "json", ray_config_as_ray_reads_it),
        Reader("parsl read_log (text and JSON logs)", "parsl-text", parsl_log),
        Reader("store.read_history", "history", history_file),
        Reader("bacalhau config", "yaml", bacalhau_config),
        Reader("dask config file", "yaml", dask_file),
    ]


def fuzz(reader, examples):
    @settings(max_examples=examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(inputs(reader.kind))
    def check(data):
        reader.runs += 1
        try:
            reader.call(data)
        except reader.allowed:
            pass
        except Exception as exc:  # noqa: BLE001 - counting exactly these is the point
            if len(reader.failures) < 5:
                reader.failures.append((data[:200], "".join(traceback.format_exception_only(exc)).strip()))
            else:
                reader.failures.append(None)

    check()


def main():
    args, scale = common.parse_args(__doc__, examples=(150, 10000))
    figures = common.Figures("fuzzing (%s)" % args.scale)
    home = common.Home()
    home.activate()
    total = 0
    import time

    for reader in readers(home):
        started = time.monotonic()
        fuzz(reader, scale["examples"])
        total += len(reader.failures)
        figures.add("uncaught[%s]" % reader.name, "%d of %d (%.0f s)" % (len(reader.failures), reader.runs,
                                                                        time.monotonic() - started),
                    not reader.failures, "0")
        print("  done: %s" % reader.name, flush=True)
        for failure in [f for f in reader.failures if f][:3]:
            print("  %s: %r -> %s" % (reader.name, failure[0], failure[1]))
    figures.add("uncaught_total", total, total == 0, "0")
    home.cleanup(args.keep)
    return figures.report()


if __name__ == "__main__":
    raise SystemExit(main())
