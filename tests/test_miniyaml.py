"""The import-free YAML reader agrees with ruamel.yaml wherever it answers."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from usagectl.core import miniyaml as _miniyaml


def _ruamel(text):
    try:
        return YAML(typ="rt").load(text)
    except Exception:
        return "error"


key = st.text(alphabet="abcdefghijXYZ_-.0123456789", min_size=1, max_size=6) | \
    st.sampled_from(["true", "null", "DisableAnalytics", "disableanalytics", "1", "y"])
scalar = st.sampled_from([
    "true", "True", "TRUE", "false", "yes", "no", "on", "off", "null", "~", "0", "-7", "+3", "010",
    "0s", "24h", "1h30m", "1e3", "0x1f", "1.5", ".inf", "2026-01-01", "1_000", "abc", "a b", "a#b",
    "a #c", "'q'", '"q"', '"a\\tb"', "'it''s'", "[]", "{}", "[a]", "&x a", "*x", "!!str 1", "|", ">",
    "http://x", "a: b", "Y", "n", "0.0.0.0", "@at", "_u", "v1.2.3", "1.2.3",
]) | st.text(alphabet="abcXYZ019 ._-:#'\"", min_size=1, max_size=6)


@st.composite
def document(draw, depth=0):
    lines = []
    for _ in range(draw(st.integers(0, 5))):
        k = draw(key)
        kind = draw(st.sampled_from(["scalar", "scalar", "map", "seq", "empty"]) if depth < 2 else
                     st.sampled_from(["scalar", "empty"]))
        indent = draw(st.sampled_from([2, 4, 3]))
        if kind == "scalar":
            lines.append("%s: %s%s" % (k, draw(scalar), draw(st.sampled_from(["", "  # c", " #"]))))
        elif kind == "empty":
            lines.append("%s:" % k)
        elif kind == "map":
            lines.append("%s:" % k)
            lines.extend(" " * indent + line for line in draw(document(depth + 1)).split("\n") if line)
        else:
            lines.append("%s:" % k)
            pad = " " * draw(st.sampled_from([0, 2]))
            lines.extend("%s- %s" % (pad, draw(scalar)) for _ in range(draw(st.integers(1, 3))))
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from(["# comment", "", "   ", "---", "\t", "- stray"])))
    return "\n".join(lines)


@settings(max_examples=1500, deadline=None)
@given(document())
def test_agrees_with_ruamel_on_generated_config_files(text):
    mine = _miniyaml.loads(text)
    if mine is not None:
        assert _ruamel(text) == mine, text


clean_key = st.text(alphabet="abcdefgXYZ_", min_size=1, max_size=6)
clean_scalar = st.sampled_from([
    "true", "False", "yes", "no", "off", "null", "~", "0", "-7", "42", "0s", "24h", "1h30m", "500ms",
    "abc", "a b", "'q'", '"q"', "[]", "{}", "0.0.0.0", "1.2.3", "gpu", "Ray_x-1", "a.b/c@d+e",
])


@st.composite
def clean_document(draw, depth=0, indent=0):
    lines = []
    seen = set()
    step = draw(st.sampled_from([2, 4]))
    for _ in range(draw(st.integers(1, 4))):
        k = draw(clean_key)
        if k in seen:
            continue
        seen.add(k)
        kind = draw(st.sampled_from(["scalar", "map", "seq", "empty"]) if depth < 2 else st.just("scalar"))
        pad = " " * indent
        if kind == "scalar":
            lines.append("%s%s: %s%s" % (pad, k, draw(clean_scalar), draw(st.sampled_from(["", " # c"]))))
        elif kind == "empty":
            lines.append("%s%s:" % (pad, k))
        elif kind == "map":
            lines.append("%s%s:" % (pad, k))
            lines.append(draw(clean_document(depth + 1, indent + step)))
        else:
            lines.append("%s%s:" % (pad, k))
            item_pad = " " * (indent + draw(st.sampled_from([0, step])))
            lines.extend("%s- %s" % (item_pad, draw(clean_scalar)) for _ in range(draw(st.integers(1, 3))))
    return "\n".join(lines)


@settings(max_examples=1000, deadline=None)
@given(clean_document())
def test_reads_clean_config_files_exactly_as_ruamel(text):
    mine = _miniyaml.loads(text)
    assert mine is not None, text  # the subset is meant to cover these
    assert _ruamel(text) == mine, text


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=60))
def test_agrees_with_ruamel_on_arbitrary_text(text):
    mine = _miniyaml.loads(text)
    if mine is not None:
        assert _ruamel(text) == mine


def test_reads_what_usagectl_and_bacalhau_write():
    text = ("# Bacalhau configuration.\nDisableAnalytics: true\nUpdateConfig:\n    Interval: 0s\n"
            "api:\n    host: 0.0.0.0\n    port: 1234\nlabels:\n    - gpu\n")
    assert _miniyaml.loads(text) == _ruamel(text)
    assert _miniyaml.loads(text)["UpdateConfig"] == {"Interval": "0s"}


@pytest.mark.parametrize("text", ["a: [1, 2]", "a: &x 1\nb: *x", "a: 1\na: 2", "a:\n\tb: 1",
                                  "a: 1.5", "a: 2026-01-01", "a: |\n  x", "- a", "---\na: 1", ""])
def test_outside_the_subset_it_declines(text):
    assert _miniyaml.loads(text) is None
