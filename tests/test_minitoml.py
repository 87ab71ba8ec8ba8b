"""The import-free TOML subset reader agrees with tomllib wherever it answers."""

import datetime
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from usagectl import _minitoml

bare_key = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCXYZ0123456789_-", min_size=1, max_size=8)
plain = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)
basic_string = plain.filter(lambda s: '"' not in s and "\\" not in s).map(lambda s: '"%s"' % s)
literal_string = plain.filter(lambda s: "'" not in s).map(lambda s: "'%s'" % s)
quoted_key = basic_string | literal_string
key = bare_key | quoted_key
integer = st.integers(-10**12, 10**12).map(str) | st.sampled_from(["+7", "-0", "007", "1_000"])
boolean = st.sampled_from(["true", "false", "True", "tru"])
offset = st.sampled_from(["Z", "+00:00", "-05:30", "+14:00", "z", "", ".5Z", "+24:00"])
dt = st.builds(lambda d, o: d.strftime("%Y-%m-%dT%H:%M:%S") + o,
               st.datetimes(min_value=datetime.datetime(1, 1, 1), max_value=datetime.datetime(9999, 12, 31)),
               offset)
scalar = basic_string | literal_string | integer | boolean | dt | st.sampled_from(["1.5", "inf", '"a\\tb"'])
array = st.lists(scalar, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]") | st.just("[[1], 2]")
value = scalar | array
comment = st.sampled_from(["", "  # note", "#x", " # [not] = a table"])
kv_line = st.builds(lambda k, v, c: "%s = %s%s" % (k, v, c), key, value, comment)
header = st.lists(key, min_size=1, max_size=3).map(lambda ks: "[" + ".".join(ks) + "]") | \
    st.sampled_from(["[[array]]", "[ a . b ]", "[]"])
line = kv_line | header | comment | st.sampled_from(["", "a.b = 1", "x = {y = 1}", 'z = """m"""'])
document = st.lists(line, max_size=12).map("\n".join)


def _tomllib(text):
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return "error"


@settings(max_examples=1500, deadline=None)
@given(document)
def test_agrees_with_tomllib_on_generated_documents(text):
    mine = _minitoml.loads(text)
    if mine is not None:
        assert _tomllib(text) == mine


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=80))
def test_agrees_with_tomllib_on_arbitrary_text(text):
    mine = _minitoml.loads(text)
    if mine is not None:
        assert _tomllib(text) == mine


def test_it_handles_what_usagectl_writes(cli, consent_file):
    cli("disable")
    cli("enable", "parsl", "--level", "2")
    cli("local", "ray")
    text = consent_file.read_text()
    assert _minitoml.loads(text) == tomllib.loads(text)
    assert _minitoml.loads(text) is not None


@pytest.mark.parametrize("text", [
    'a = "x\\ty"', "a = 1.5", "a = {b = 1}", "[[t]]", "a.b = 1", "a = 1\na = 2", "[t]\n[t]",
    'a = """x"""', "a = 2026-01-01T00:00:00", "a = 2026-01-01 00:00:00Z", "a = 1\r\n",
    "a = [1,\n2]", "a = 0x10", "a = 01",
])
def test_outside_the_subset_it_declines(text):
    assert _minitoml.loads(text) is None
