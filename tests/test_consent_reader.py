"""The stdlib reader: precedence, levels, time of opt-in, and failing closed."""

import datetime
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from usagectl import consent

UTC = datetime.timezone.utc
T1 = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
T2 = datetime.datetime(2026, 2, 1, 12, 0, tzinfo=UTC)


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def decide(name, consent_file, policy_file, **environ):
    env = dict(os.environ)
    env.update(environ)
    return consent.decide(name, environ=env, consent_path=str(consent_file),
                          policy_path=str(policy_file))


def test_nothing_chosen_is_unset(consent_file, policy_file):
    d = decide("ray", consent_file, policy_file)
    assert (d.mode, d.source, d.level) == ("unset", consent.SOURCE_UNSET, None)
    assert consent.allowed("ray") is False
    assert consent.allowed("ray", default=True) is True


@pytest.mark.parametrize("fw_mode, default_mode, expected, source", [
    ("on", "off", "off", consent.SOURCE_DEFAULT_ENTRY),
    ("off", "on", "off", consent.SOURCE_FRAMEWORK_ENTRY),
    ("local", "on", "local", consent.SOURCE_FRAMEWORK_ENTRY),
    ("on", "local", "local", consent.SOURCE_DEFAULT_ENTRY),
    ("on", "on", "on", consent.SOURCE_FRAMEWORK_ENTRY),
    ("off", "off", "off", consent.SOURCE_FRAMEWORK_ENTRY),
])
def test_most_restrictive_of_framework_and_default_entry(consent_file, policy_file, fw_mode,
                                                         default_mode, expected, source):
    write(consent_file, 'schema = 1\n[default]\nmode = "%s"\n[frameworks.ray]\nmode = "%s"\n'
          % (default_mode, fw_mode))
    d = decide("ray", consent_file, policy_file)
    assert (d.mode, d.source) == (expected, source)
    # other frameworks follow the default entry alone
    assert decide("parsl", consent_file, policy_file).mode == default_mode


@pytest.mark.parametrize("value, off", [
    ("1", True), ("true", True), ("yes", True), ("anything", True), (" 1 ", True),
    ("", False), ("0", False), ("false", False), ("FALSE", False), (" ", False),
])
def test_do_not_track_values(consent_file, policy_file, value, off):
    write(consent_file, 'schema = 1\n[default]\nmode = "on"\n')
    d = decide("coiled", consent_file, policy_file, DO_NOT_TRACK=value)
    assert d.mode == ("off" if off else "on")
    assert d.source == (consent.SOURCE_DO_NOT_TRACK if off else consent.SOURCE_DEFAULT_ENTRY)


def test_do_not_track_decides_even_without_a_consent_file(consent_file, policy_file):
    d = decide("ray", consent_file, policy_file, DO_NOT_TRACK="1")
    assert (d.mode, d.source) == ("off", consent.SOURCE_DO_NOT_TRACK)


def test_policy_ceiling_caps_and_is_named_source(consent_file, policy_file):
    write(consent_file, 'schema = 1\n[default]\nmode = "on"\n')
    write(policy_file, 'schema = 1\n[default]\nceiling = "local"\n[frameworks.ray]\nceiling = "off"\n')
    ray = decide("ray", consent_file, policy_file)
    assert (ray.mode, ray.source, ray.locked, ray.ceiling) == ("off", consent.SOURCE_POLICY, True, "off")
    parsl = decide("parsl", consent_file, policy_file)
    assert (parsl.mode, parsl.source, parsl.ceiling) == ("local", consent.SOURCE_POLICY, "local")


def test_policy_names_the_source_when_user_agrees(consent_file, policy_file):
    # Policy outranks the user's own entry when both say off.
    write(consent_file, 'schema = 1\n[default]\nmode = "off"\n')
    write(policy_file, 'schema = 1\n[default]\nceiling = "off"\n')
    assert decide("ray", consent_file, policy_file).source == consent.SOURCE_POLICY


def test_policy_without_user_choice_restricts_but_on_ceiling_leaves_unset(consent_file, policy_file):
    write(policy_file, 'schema = 1\n[frameworks.ray]\nceiling = "off"\n[frameworks.parsl]\nceiling = "on"\nlevel = 1\n')
    assert decide("ray", consent_file, policy_file).mode == "off"
    parsl = decide("parsl", consent_file, policy_file)
    assert (parsl.mode, parsl.level, parsl.locked) == ("unset", 1, True)


def test_levels_take_the_lowest_cap(consent_file, policy_file):
    write(consent_file, 'schema = 1\n[default]\nmode = "on"\nlevel = 3\n[frameworks.parsl]\nmode = "on"\nlevel = 2\n')
    write(policy_file, 'schema = 1\n[default]\nceiling = "on"\n')
    d = decide("parsl", consent_file, policy_file)
    assert (d.mode, d.level) == ("on", 2)
    write(policy_file, 'schema = 1\n[default]\nceiling = "on"\nlevel = 1\n')
    assert decide("parsl", consent_file, policy_file).level == 1


def test_since_is_the_latest_opt_in(consent_file, policy_file):
    write(consent_file, 'schema = 1\n[default]\nmode = "on"\nchanged = 2026-01-01T12:00:00Z\n'
          '[frameworks.ray]\nmode = "on"\nchanged = 2026-02-01T12:00:00Z\n')
    d = decide("ray", consent_file, policy_file)
    assert d.since == T2


def test_allowed_refuses_data_collected_before_the_opt_in(consent_file, policy_file, monkeypatch):
    write(consent_file, 'schema = 1\n[frameworks.parsl]\nmode = "on"\nlevel = 2\nchanged = 2026-02-01T12:00:00Z\n')
    monkeypatch.setenv("USAGECTL_CONFIG_DIR", str(consent_file.parent))
    assert consent.allowed("parsl", level=2, collected_at=T2) is True
    assert consent.allowed("parsl", level=2, collected_at=T1) is False
    assert consent.allowed("parsl", level=3) is False
    assert consent.allowed("PARSL", level=1) is True  # names are case-insensitive


def test_any_framework_name_is_accepted(consent_file, policy_file):
    write(consent_file, 'schema = 1\n[frameworks."my-tool"]\nmode = "on"\n')
    assert decide("my-tool", consent_file, policy_file).mode == "on"


DAMAGED = [
    ("truncated", b'schema = 1\n[default]\nmode = "o', 3),
    ("empty", b"", None),
    ("binary", b"schema = 1\n\x89PNG\r\n\x1a\n\x00\xff\xfe", 2),
    ("wrong type", b'schema = 1\n\n[default]\nmode = true\n', 4),
    ("unknown mode", b'schema = 1\n[frameworks.ray]\nmode = "maybe"\n', 3),
    ("level type", b'schema = 1\n[frameworks.parsl]\nmode = "on"\nlevel = "2"\n', 4),
    ("newer schema", b'schema = 2\n[default]\nmode = "on"\n', 1),
    ("schema type", b'schema = "1"\n', 1),
    ("frameworks not a table", b'schema = 1\nframeworks = 3\n', 2),
    ("entry not a table", b'schema = 1\n[frameworks]\nray = "on"\n', 3),
    ("changed without offset", b'schema = 1\n[default]\nmode = "on"\nchanged = 2026-01-01T00:00:00\n', 4),
    ("no mode", b'schema = 1\n[default]\nlevel = 2\n', 2),
]


@pytest.mark.parametrize("label, data, line", DAMAGED, ids=[d[0] for d in DAMAGED])
def test_damaged_consent_file_means_off_for_all_naming_file_and_line(consent_file, policy_file,
                                                                      label, data, line):
    consent_file.parent.mkdir(parents=True, exist_ok=True)
    consent_file.write_bytes(data)
    for name in consent.KNOWN_FRAMEWORKS + ("other",):
        d = decide(name, consent_file, policy_file)
        assert (d.mode, d.level, d.source) == ("off", 0, consent.SOURCE_DAMAGED_CONSENT)
        assert d.problems[0].path == str(consent_file)
        assert d.problems[0].line == line, d.problems[0]
    assert consent_file.read_bytes() == data  # a reader never writes


def test_damaged_policy_file_means_off_even_when_user_says_on(consent_file, policy_file):
    write(consent_file, 'schema = 1\n[default]\nmode = "on"\n')
    write(policy_file, 'schema = 1\n[default]\nceiling = "everything"\n')
    d = decide("ray", consent_file, policy_file)
    assert (d.mode, d.source) == ("off", consent.SOURCE_DAMAGED_POLICY)
    assert d.problems[0].line == 3


def test_unreadable_consent_file_means_off(consent_file, policy_file):
    consent_file.mkdir(parents=True)  # a directory where the file should be: EISDIR
    d = decide("ray", consent_file, policy_file)
    assert (d.mode, d.source) == ("off", consent.SOURCE_DAMAGED_CONSENT)


def test_unknown_keys_and_sections_are_allowed(consent_file, policy_file):
    write(consent_file, 'schema = 1\nowner = "me"\n[default]\nmode = "on"\nnote = "x"\n'
          '[search]\nparsl = ["~/work"]\n[deletion.parsl]\nemail = "a@example.org"\n')
    snapshot = consent.read_consent(str(consent_file))
    assert snapshot.problem is None
    assert snapshot.data["search"]["parsl"] == ["~/work"]
    assert decide("ray", consent_file, policy_file).mode == "on"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_decide_never_raises_and_any_problem_means_off(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "consent.toml"
    path.write_bytes(data)
    d = consent.decide("ray", environ={}, consent_path=str(path), policy_path=str(path) + ".none")
    assert d.mode in ("off", "local", "on", "unset")
    if consent.read_consent(str(path)).problem is not None:
        assert d.mode == "off"


def test_decide_reports_an_error_as_off_instead_of_raising(consent_file, policy_file):
    class Exploding(dict):
        def get(self, *args):
            raise RuntimeError("boom")

    d = consent.decide("ray", environ=Exploding(), consent_path=str(consent_file),
                       policy_path=str(policy_file))
    assert (d.mode, d.source) == ("off", consent.SOURCE_ERROR)
