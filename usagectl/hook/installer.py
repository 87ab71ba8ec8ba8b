"""Install, remove and inspect the runtime hook in a Python environment.

The hook is ``usagectl-hook.pth`` in the target environment's purelib site-packages,
and beside it ``usagectl-hook-<digest>/``: a copy of the code it runs (the runtime, the
consent reader and each framework's ``hook.py``), named by the digest of that code.
The ``.pth``'s one code line puts a tiny import watcher on ``sys.meta_path``; when
ray, parsl or coiled.analytics is imported, the watcher loads the copied
``runtime.py`` by absolute path. So the hook runs only code inside that interpreter's
own site-packages, written by whoever can write there: moving or removing the
usagectl that installed it changes nothing, and a usagectl another user owns never
becomes code root runs (docs/security.md). "Current" means the ``.pth`` is
byte-identical to what ``install`` would write now and the copy is intact; an
upgraded usagectl makes it stale until ``hook install`` runs again.
"""

import os
import sys

from usagectl.core.errors import BadInput, UsagectlError

PTH_NAME = "usagectl-hook.pth"
#: First line of our file: how uninstall recognises a file it may delete.
MARKER = "# usagectl runtime hook"
PROBE_TIMEOUT_S = 30


def hooked_frameworks():
    """The frameworks the hook acts on: those that declare ``hook_imports``."""
    from usagectl import frameworks

    return [f for f in frameworks.all() if f.hook_imports and f.hook_file()]


def framework_modules():
    """Top-level packages of the hooked frameworks (what the probe looks for)."""
    return tuple(f.python_package for f in hooked_frameworks() if f.python_package)


def watched_table(code_dir):
    """module name -> (framework, phase, hook file, function): what the .pth embeds, with
    each hook file the copy inside ``code_dir``."""
    table = {}
    for framework in hooked_frameworks():
        hook_file = os.path.join(code_dir, HOOKS_DIR, framework.name + ".py")
        for module, (phase, function) in sorted(framework.hook_imports.items()):
            table[module] = (framework.name, phase, hook_file, function)
    return table


# ---------------------------------------------------------------------------
# The copy of the code the hook runs

#: Directory (in site-packages) of one version of the copied code: CODE_PREFIX + digest.
CODE_PREFIX = "usagectl-hook-"
#: Inside it, the framework hook files, one per framework name.
HOOKS_DIR = "hooks"
#: Inside it, what was copied: "<sha256> <relative path>" per line.
MANIFEST = "MANIFEST"
#: The modules of usagectl the runtime uses (stdlib only, relative imports only).
PACKAGE_FILES = ("__init__.py", "consent.py", "_paths.py", "_files.py", "_ledger.py",
                 os.path.join("hook", "runtime.py"))


def code_sources():
    """(relative path in the copy, source file) of everything the hook runs."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    files = [(os.path.join("usagectl", name), os.path.join(package, name)) for name in PACKAGE_FILES]
    for framework in hooked_frameworks():
        files.append((os.path.join(HOOKS_DIR, framework.name + ".py"), os.path.realpath(framework.hook_file())))
    return files


_CODE_FILES: list = []


def code_files():
    """(relative path, bytes) of the copy, and its digest (names the directory). Read and
    hashed once per process: usagectl's own files don't change while it runs."""
    if not _CODE_FILES:
        _CODE_FILES.append(_read_code_files())
    return _CODE_FILES[0]


def _read_code_files():
    import hashlib

    from usagectl import _files

    files = [(relative, _files.read_regular(source, 1 << 22)) for relative, source in code_sources()]
    digest = hashlib.sha256()
    for relative, data in files:
        digest.update(relative.encode("utf-8") + b"\0" + hashlib.sha256(data).digest())
    return files, digest.hexdigest()[:16]


def code_dir(site_dir, digest=None):
    """Where the copy of the current code goes (or went) in ``site_dir``."""
    if digest is None:
        digest = code_files()[1]
    return os.path.join(site_dir, CODE_PREFIX + digest)


def _manifest(files):
    import hashlib

    return "".join("%s %s\n" % (hashlib.sha256(data).hexdigest(), rel) for rel, data in files).encode("utf-8")


def copy_intact(directory):
    """Is every file the manifest in ``directory`` names there, unchanged?"""
    import hashlib

    from usagectl import _files

    try:
        listed = _files.read_regular(os.path.join(directory, MANIFEST), 1 << 16).decode("utf-8").splitlines()
        for line in listed:
            digest, relative = line.split(" ", 1)
            data = _files.read_regular(os.path.join(directory, relative), 1 << 22)
            if hashlib.sha256(data).hexdigest() != digest:
                return False
        return bool(listed)
    except (OSError, ValueError):
        return False


def _place_code(site_dir):
    """Write the copy into ``site_dir`` (0755 directories, 0644 files, never through a
    link), unless an intact one is there. -> its directory."""
    from usagectl.core.rootfs import Tree

    files, digest = code_files()
    directory = code_dir(site_dir, digest)
    if copy_intact(directory):
        return directory
    tree = Tree(site_dir)
    base = "/" + CODE_PREFIX + digest
    for relative, data in files:
        tree.write(base + "/" + relative.replace(os.sep, "/"), data, 0o644)
    tree.write(base + "/" + MANIFEST, _manifest(files), 0o644)
    return directory


def _remove_code(site_dir, keep=None):
    """Remove copies of the hook's code in ``site_dir`` but ``keep``."""
    import shutil

    try:
        names = os.listdir(site_dir)
    except OSError:
        return
    for name in names:
        full = os.path.join(site_dir, name)
        if name.startswith(CODE_PREFIX) and full != keep and os.path.isfile(os.path.join(full, MANIFEST)) \
                and not os.path.islink(full):
            shutil.rmtree(full, ignore_errors=True)


def fallback_env():
    """module name -> env to set when runtime.py can't be loaded (fail closed without code)."""
    table = {}
    for framework in hooked_frameworks():
        table.update(framework.hook_fallback_env)
    return table

# What the target interpreter tells us about itself. `find_spec` of a top-level name
# locates a package without importing it.
_PROBE = r"""
import importlib.util, json, sys, sysconfig
found = {}
for name in %r:
    try:
        found[name] = importlib.util.find_spec(name) is not None
    except Exception:
        found[name] = False
print(json.dumps({"purelib": sysconfig.get_paths()["purelib"], "executable": sys.executable,
                  "version": list(sys.version_info[:3]), "frameworks": found,
                  "hook_loaded": any(getattr(f, "_usagectl_hook", False) for f in sys.meta_path)}))
"""

# The code the .pth runs at start-up. site.py executes .pth lines that start with
# "import", one line each, so the code is exec'd from a string (a one-liner cannot
# hold a def). It is compiled on every interpreter start, and compiling is most of
# what start-up pays for, so it is only the smallest possible finder: a module
# object (any object with find_spec may sit on sys.meta_path) with one function,
# doing one tuple lookup per import. It is registered as sys.modules[BOOT_MODULE],
# which makes a second copy of the file (a venv with --system-site-packages over a
# base that has one too) a no-op. For a watched name it compiles and runs
# _ON_WATCHED, which loads runtime.py by absolute path (not `import usagectl...`, so
# the hook also works where usagectl is not installed) and hands the name over.
BOOT_MODULE = "usagectl_hook_pth"
#: sys.modules name of runtime.py once a watched import has loaded it.
RUNTIME_MODULE = "usagectl_hook_runtime"
_BOOT = """\
import sys
def find_spec(name, path=None, target=None):
    if name in %(watched)r:
        space = {}
        exec(%(on_watched)r, space)
        return space['find_spec'](name, path, target)
hook = type(sys)(%(module)r)
hook.find_spec = find_spec
hook._usagectl_hook = True
sys.modules[%(module)r] = hook
sys.meta_path.insert(0, hook)
"""

# Compiled only when a watched module is imported. When runtime.py cannot be loaded
# (usagectl moved or removed without `usagectl hook uninstall`), fail closed where no
# code is needed: Ray's switch off; Parsl and Coiled need runtime.py to be
# restricted, so say that in one line on stderr. Never raises.
_ON_WATCHED = """\
import sys
def find_spec(name, path, target):
    try:
        runtime = sys.modules.get(%(runtime_module)r)
        if runtime is None:
            import importlib.util as u
            spec = u.spec_from_file_location(%(runtime_module)r, %(runtime)r)
            runtime = u.module_from_spec(spec)
            spec.loader.exec_module(runtime)
            sys.modules[%(runtime_module)r] = runtime
        runtime.configure(%(table)r)
        return runtime.find_spec(name, path, target)
    except Exception as exc:
        try:
            import os
            fallback = %(fallback)r.get(name)
            if fallback:
                os.environ.update(fallback)
            else:
                sys.stderr.write('usagectl hook: cannot load %%s (%%r): %%s telemetry is not restricted; '
                                 'run `usagectl hook install` again\\n' %% (%(runtime)r, exc, name))
        except Exception:
            pass
        return None
"""


def runtime_path(directory):
    """The runtime module inside the copy ``directory``."""
    return os.path.join(directory, "usagectl", "hook", "runtime.py")


def _boot_code(directory):
    runtime = runtime_path(directory)
    table = watched_table(directory)
    watched = tuple(table)
    if any("\n" in entry[2] or "\r" in entry[2] for entry in table.values()):
        raise UsagectlError("usagectl is installed under a path with a line break; "
                            "a .pth file cannot refer to it")
    if any(c in runtime for c in "\n\r"):
        raise UsagectlError("that site-packages has a line break in its path (%r); "
                            "a .pth file cannot refer to it" % runtime)
    on_watched = _ON_WATCHED % {"runtime": runtime, "runtime_module": RUNTIME_MODULE, "table": table,
                                "fallback": fallback_env()}
    return _BOOT % {"watched": watched, "on_watched": on_watched, "module": BOOT_MODULE}


def _and(words):
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def render_pth(directory):
    """The exact text `install` writes, for the copy in ``directory``."""
    runtime = runtime_path(directory)
    titles = [f.title for f in hooked_frameworks()]
    return "".join((
        MARKER + ": %s honour the usagectl telemetry consent file.\n" % _and(titles),
        "# Written by `usagectl hook install`; remove with `usagectl hook uninstall`. Do not edit.\n",
        "# At start-up it only adds an import watcher; the consent file is read when one of\n",
        "# their modules is imported. Runtime: %s\n" % runtime,
        "import sys; %r in sys.modules or exec(%r, {})\n" % (BOOT_MODULE, _boot_code(directory)),
    ))


# ---------------------------------------------------------------------------
# The target interpreter


def resolve_python(python=None):
    """An absolute path to the interpreter to act on (default: the one running usagectl)."""
    import shutil

    if python is None:
        return sys.executable
    candidate = python
    if os.sep not in candidate:
        found = shutil.which(candidate)
        if found is None:
            raise BadInput("no Python interpreter %r on PATH" % python)
        candidate = found
    candidate = os.path.abspath(os.path.expanduser(candidate))
    if os.path.isdir(candidate):
        # Accept a venv directory for convenience.
        for sub in (("bin", "python"), ("Scripts", "python.exe")):
            inside = os.path.join(candidate, *sub)
            if os.path.exists(inside):
                return inside
    if not (os.path.isfile(candidate) and os.access(candidate, os.X_OK)):
        raise BadInput("no Python interpreter at %s" % candidate, path=candidate)
    return candidate


def probe(python):
    """Ask the interpreter itself: its purelib dir, version, frameworks, hook loaded."""
    import json
    import subprocess

    try:
        # -I: ignore PYTHON* variables and the user site, so we see the environment as
        # installed, not as this shell happens to tweak it. Site-packages .pth files
        # (ours included) are still processed, which is what hook_loaded checks.
        proc = subprocess.run([python, "-I", "-c", _PROBE % (framework_modules(),)], capture_output=True,
                              text=True,
                              timeout=PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise UsagectlError("%s did not answer within %d s" % (python, PROBE_TIMEOUT_S), path=python)
    except OSError as exc:
        raise BadInput("cannot run %s (%s)" % (python, exc.strerror or exc), path=python)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise BadInput("%s is not a working Python interpreter (%s)" % (python, last), path=python)
    try:
        info = json.loads(proc.stdout.strip().splitlines()[-1])
        info["purelib"]
    except (ValueError, IndexError, KeyError, TypeError):
        raise BadInput("%s did not answer like a Python interpreter" % python, path=python)
    return info


# ---------------------------------------------------------------------------
# The file


def file_state(site_dir):
    """What our .pth in ``site_dir`` is: installed, ours, current, its code present."""
    path = os.path.join(site_dir, PTH_NAME)
    directory = code_dir(site_dir)
    from usagectl import _files

    try:
        text = _files.read_regular(path, 1 << 20).decode("utf-8", "replace")
    except FileNotFoundError:
        return {"path": path, "installed": False, "current": False, "ours": False, "stale": None,
                "runtime": runtime_path(directory), "runtime_exists": None}
    except OSError as exc:
        return {"path": path, "installed": True, "current": False, "ours": False, "stale": None,
                "runtime": None, "runtime_exists": False,
                "problem": "cannot read it (%s)" % (exc.strerror or exc)}
    ours = text.startswith(MARKER)
    recorded = _recorded_runtime(text)
    recorded_dir = os.path.dirname(os.path.dirname(os.path.dirname(recorded))) if recorded else None
    intact = copy_intact(directory)
    # A .pth of an older usagectl points at that usagectl's own runtime.py (no copy).
    if recorded_dir == directory:
        present = intact
    elif recorded_dir and os.path.basename(recorded_dir).startswith(CODE_PREFIX):
        present = copy_intact(recorded_dir)
    else:
        present = bool(recorded and os.path.isfile(recorded))
    current = intact and text == render_pth(directory)
    return {
        "path": path,
        "installed": True,
        "current": current,
        "ours": ours,
        # Installed by another version of usagectl (or its copy changed): `hook install` again.
        "stale": ours and not current,
        "runtime": recorded,
        "runtime_exists": present,
    }


def _recorded_runtime(text):
    for line in text.splitlines():
        if line.startswith("# ") and "Runtime: " in line:
            return line.split("Runtime: ", 1)[1].strip()
    return None


def _as_root():
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _trusted_python(python):
    """Root executes an interpreter only if only root can change it."""
    if _as_root():
        from usagectl.core.rootfs import check_owned

        check_owned(python, "the interpreter")


def _target(python, scratch_root=None):
    """(python, probe info, site-packages) of the environment to act on, checked."""
    python = resolve_python(python)
    _trusted_python(python)
    info = probe(python)
    site_dir = info["purelib"]
    if scratch_root is not None:
        inside = os.path.realpath(scratch_root).rstrip(os.sep) + os.sep
        if not os.path.realpath(site_dir).startswith(inside):
            from usagectl.core.rootfs import UnsafePath

            raise UnsafePath("%s installs into %s, outside the scratch root %s; a run under a scratch root "
                             "never touches the host" % (python, site_dir, scratch_root), path=site_dir)
    if not os.path.isdir(site_dir):
        # Creating it ourselves would give it our private mode; the environment is odd.
        raise UsagectlError("%s has no site-packages directory (%s does not exist)" % (python, site_dir),
                            path=site_dir)
    return python, info, site_dir


def install(python=None, scratch_root=None):
    python, info, site_dir = _target(python, scratch_root)
    if _as_root():
        from usagectl.core.rootfs import check_owned

        check_owned(site_dir, "the site-packages")
        for _relative, source in code_sources():
            check_owned(source, "usagectl's hook code")
    before = file_state(site_dir)
    if before["installed"] and not before["ours"]:
        raise UsagectlError("%s exists and was not written by usagectl; left alone" % before["path"],
                            path=before["path"])
    changed = not before["current"]
    if changed:
        try:
            place(site_dir)
        except PermissionError as exc:
            raise UsagectlError("cannot write into %s (%s)" % (site_dir, exc.strerror),
                                hint="run as a user who can write to that site-packages, "
                                     "or pass --python for a virtual environment you own",
                                path=site_dir)
    after = file_state(site_dir)
    # Ask the interpreter again: "installed" is only true if it really loads the file.
    active = bool(probe(python).get("hook_loaded"))
    return dict(after, python=python, site_packages=site_dir, version=info["version"],
                frameworks=info["frameworks"], changed=changed, was_installed=before["installed"],
                active=active)


def install_system(env, python):
    """`usagectl --system sync --python P`: under a scratch root, P names the interpreter
    inside it (by its absolute path there) and must install inside it."""
    from usagectl.core import system

    if not system.scratch(env):
        return install(python)
    if not os.path.isabs(python):
        raise BadInput("under %s, --python takes the interpreter's absolute path inside the scratch root "
                       "(e.g. /usr/bin/python3)" % system.ROOT_VAR)
    return install(system.system_path(env, python), scratch_root=system.root(env))


def uninstall(python=None):
    python, _info, site_dir = _target(python)
    state = file_state(site_dir)
    if state["installed"] and not state["ours"]:
        raise UsagectlError("%s was not written by usagectl; left alone" % state["path"],
                            path=state["path"])
    removed = False
    if state["installed"]:
        from usagectl.core.rootfs import Tree

        try:
            removed = Tree(site_dir).remove("/" + PTH_NAME)
        except PermissionError as exc:
            raise UsagectlError("cannot remove %s (%s)" % (state["path"], exc.strerror),
                                hint="run as a user who can write to that site-packages",
                                path=state["path"])
    _remove_code(site_dir)
    return {"python": python, "site_packages": site_dir, "path": state["path"], "removed": removed}


def status(python=None):
    python, info, site_dir = _target(python)
    state = file_state(site_dir)
    return dict(state, python=python, site_packages=site_dir, version=info["version"],
                frameworks=info["frameworks"], active=bool(info.get("hook_loaded")))


def place(site_dir):
    """Write the copy of the hook's code and the .pth that runs it into ``site_dir`` (no
    checks: ``install`` makes them), and remove older copies. -> the .pth's text."""
    from usagectl.core.rootfs import Tree

    directory = _place_code(site_dir)
    text = render_pth(directory)
    # Readable by everyone who runs this environment's Python, like the rest of it; the
    # .pth is replaced, never written through a link.
    Tree(site_dir).write("/" + PTH_NAME, text.encode("utf-8"), 0o644)
    _remove_code(site_dir, keep=directory)
    return text


# ---------------------------------------------------------------------------
# For `usagectl status` and the adapters: no subprocess, this interpreter only


def hook_installed(env=None, site_dir=None):
    """Is the hook installed in the environment usagectl runs in?

    ``site_dir`` defaults to this interpreter's purelib (where `hook install` without
    --python writes). ``active`` says whether the hook is loaded in this very process,
    which is the proof that the file is processed at start-up.
    """
    if site_dir is None:
        import sysconfig

        site_dir = sysconfig.get_paths()["purelib"]
    state = file_state(site_dir)
    state["active"] = hook_active()
    state["python"] = sys.executable
    return state


def hook_active():
    """Is the hook's finder on sys.meta_path of this process?"""
    return any(getattr(finder, "_usagectl_hook", False) for finder in sys.meta_path)
