"""Any sequence of enable/disable/local writes reads back as the same choices (Hypothesis)."""

import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from usagectl import consent
from usagectl.core import store

TARGETS = [None, "ray", "parsl", "my-tool", "Coiled"]
step = st.tuples(st.sampled_from(TARGETS), st.sampled_from(consent.MODES),
                 st.none() | st.integers(1, 3))


@settings(max_examples=60, deadline=None)
@given(st.lists(step, min_size=1, max_size=12))
def test_writes_read_back_exactly(tmp_path_factory, steps):
    root = tmp_path_factory.mktemp("store")
    path, history = str(root / "consent.toml"), str(root / "history.jsonl")
    with open(path, "w") as handle:
        handle.write("# kept: my notes\nschema = 1\nowner = 'me'\n")
    model = {}
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    for index, (target, mode, level) in enumerate(steps):
        when = now + datetime.timedelta(minutes=index)
        store.set_modes(path, history, [None if target is None else consent.normalize_name(target)],
                        mode, level, "test", now=when)
        key = None if target is None else consent.normalize_name(target)
        new = (mode, None if mode == "off" else level)
        if model.get(key, (None, None))[:2] != new:
            model[key] = new + (when,)
        snapshot = consent.read_consent(path)
        assert snapshot.problem is None
        got = {None: snapshot.default} if snapshot.default else {}
        got.update(snapshot.frameworks)
        assert {k: (e.mode, e.level, e.changed) for k, e in got.items()} == model
    text = open(path).read()
    # The user's comment and key survive; the sealed header goes first, the end line last.
    assert "\n# kept: my notes\n" in text and "owner = 'me'" in text
    assert text.startswith(consent.SEALED_PREFIX) and text.endswith(consent.END_LINE + "\n")
