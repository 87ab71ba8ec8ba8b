"""The package's shape is its design: each framework's facts in its own home, and
layers that point one way. Both rules are read from the source, so a change that
breaks them fails here, not in review."""

import ast
import pathlib

import pytest

from usagectl import consent, frameworks

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "usagectl"

#: Lowest first. A module may import its own layer and the ones below it, never above;
#: output sits just under cli, so nothing but the command line can print.
LAYERS = (
    ("reader", ("usagectl", "usagectl.consent", "usagectl._paths", "usagectl._minitoml",
                "usagectl._ledger", "usagectl._files")),
    ("core", ("usagectl.core",)),
    ("frameworks", ("usagectl.frameworks",)),
    ("engines", ("usagectl.judgment", "usagectl.records", "usagectl.preview", "usagectl.verify", "usagectl.watch",
                 "usagectl.hook", "usagectl.deletion", "usagectl.export")),
    ("commands", ("usagectl.commands",)),
    ("output", ("usagectl.output",)),
    ("cli", ("usagectl.cli", "usagectl.main", "usagectl.__main__")),
)


def module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(name):
    best = None
    for rank, (layer, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if name == prefix or name.startswith(prefix + "."):
                # The longest prefix decides ("usagectl" alone is the package itself).
                if best is None or len(prefix) > best[2]:
                    best = (rank, layer, len(prefix))
    return best


def modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if "sitecustomize" not in p.parts)


def imports_of(path):
    """Every usagectl module ``path`` imports, at any depth (function bodies included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    own = module_name(path)
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                candidate = base + "." + alias.name
                found.add(candidate if (PACKAGE.parent / (candidate.replace(".", "/") + ".py")).exists()
                          or (PACKAGE.parent / candidate.replace(".", "/")).is_dir() else base)
    return {name for name in found if name == "usagectl" or name.startswith("usagectl.")}


def test_every_module_has_a_layer():
    unplaced = [module_name(p) for p in modules() if layer_of(module_name(p)) is None]
    assert unplaced == []


def test_imports_point_down_the_layers():
    upward = []
    for path in modules():
        own = module_name(path)
        own_rank, own_layer, _ = layer_of(own)
        for target in sorted(imports_of(path)):
            placed = layer_of(target)
            if placed is not None and placed[0] > own_rank:
                upward.append("%s (%s) imports %s (%s)" % (own, own_layer, target, placed[1]))
    assert upward == []


def test_the_layer_checker_catches_an_upward_import(tmp_path):
    """The rule above must be able to fail: an engine module importing the output layer."""
    fake = PACKAGE / "records" / "_upward_probe.py"
    assert not fake.exists()
    fake.write_text("def f():\n    from usagectl.output import views\n")
    try:
        found = imports_of(fake)
    finally:
        fake.unlink()
    assert "usagectl.output.views" in found
    assert layer_of("usagectl.output.views")[0] > layer_of("usagectl.records._upward_probe")[0]


# ---------------------------------------------------------------------------
# One home per framework

NAMES = frameworks.builtin_names()
#: Public reader API: the built-in names, for frameworks that read the consent file
#: without usagectl's registry (kept equal to it by the test below).
ALLOWED = {("usagectl.consent", "KNOWN_FRAMEWORKS")}


def _docstring_nodes(tree):
    nodes = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                nodes.add(id(body[0].value))
    return nodes


def framework_mentions(path):
    """String constants in code (not docstrings) naming a built-in framework or one of
    its modules: the stuff of ``if name == "ray"`` and ``{"ray": ...}``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = _docstring_nodes(tree)
    assigned = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    for child in ast.walk(node.value):
                        assigned[id(child)] = target.id
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            if any(node.value == n or node.value.startswith(n + ".") for n in NAMES):
                found.append((node.lineno, node.value, assigned.get(id(node))))
    return found


def test_no_engine_knows_a_framework_by_name():
    offenders = []
    for path in modules():
        name = module_name(path)
        if name.startswith("usagectl.frameworks"):
            continue
        for line, value, assigned_to in framework_mentions(path):
            if (name, assigned_to) in ALLOWED:
                continue
            offenders.append("%s line %d: %r" % (path.relative_to(PACKAGE.parent), line, value))
    assert offenders == []


def test_the_name_checker_catches_a_branch(tmp_path):
    probe = tmp_path / "engine.py"
    probe.write_text('def f(name):\n    """Talks about "ray" in a docstring: fine."""\n'
                     '    if name == "ray":\n        return {"parsl": 1}\n')
    assert [v for _, v, _ in framework_mentions(probe)] == ["ray", "parsl"]


def test_the_readers_list_of_names_is_the_registrys():
    assert consent.KNOWN_FRAMEWORKS == frameworks.builtin_names()


@pytest.mark.parametrize("name", NAMES)
def test_each_framework_lives_in_one_package(name):
    framework = frameworks.get(name)
    home = PACKAGE / "frameworks" / name
    assert pathlib.Path(type(framework).__module__.replace(".", "/") + ".py").parent == \
        home.relative_to(PACKAGE.parent)
    for attribute in ("probe_file", "hook_file"):
        path = getattr(framework, attribute)()
        assert path is None or pathlib.Path(path).parent == home


# ---------------------------------------------------------------------------
# Process safety of the tests themselves

TESTS = pathlib.Path(__file__).resolve().parent


def test_every_namespace_a_test_makes_has_its_own_pids():
    """A network namespace alone shares the host's processes: a `ray stop` there would
    signal other people's processes. Every namespace the tests (and their fixture
    scripts and docs) make must be a PID namespace too."""
    import re

    weak = []
    for path in sorted(TESTS.rglob("*")):
        if path.suffix not in (".py", ".sh", ".md") or "__pycache__" in path.parts or \
                path.name in ("isolation.py", "test_architecture.py"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if re.search(r"\bunshare\b.*--net", line) and "--pid" not in line:
                weak.append("%s line %d" % (path.relative_to(TESTS), number))
    assert weak == []


def test_signals_go_only_to_processes_a_test_started():
    """No pkill/killall, and `ray stop` only in scripts that run inside isolation.py's
    namespaces (whose PID 1 is the script itself)."""
    offenders = []
    for path in sorted(TESTS.rglob("*")):
        if path.suffix not in (".py", ".sh") or "__pycache__" in path.parts or \
                path.name in ("isolation.py", "test_architecture.py"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for word in ("pkill", "killall", "kill -9 -1", "os.killpg"):
            if word in text:
                offenders.append("%s uses %s" % (path.relative_to(TESTS), word))
        if "ray\" stop" in text or "ray stop" in text.replace('"$RAY" stop', "ray stop"):
            if "tests/isolation.py" not in text and "isolation" not in text:
                offenders.append("%s stops Ray without saying it runs isolated" % path.relative_to(TESTS))
    assert offenders == []
