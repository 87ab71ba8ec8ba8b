"""Install, remove and inspect the runtime hook's ``.pth`` file in a Python environment.

The hook is exactly one file, ``usagectl-hook.pth``, in the target environment's
purelib site-packages directory. Its one code line puts a tiny import watcher on
``sys.meta_path``; when ray, parsl or coiled.analytics is imported, the watcher loads
``runtime.py`` of *this* usagectl by absolute path, so the hook also works in
environments where usagectl is not installed (``--python`` of another venv); see
runtime._consent_reader for how the consent reader is found there. "Current" means
the file is byte-identical to what ``install`` would write now (same runtime path,
same code).
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


def watched_table():
    """module name -> (framework, phase, hook file, function): what the .pth embeds."""
    table = {}
    for framework in hooked_frameworks():
        hook_file = os.path.realpath(framework.hook_file())
        for module, (phase, function) in sorted(framework.hook_imports.items()):
            table[module] = (framework.name, phase, hook_file, function)
    return table


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


def runtime_path():
    """The runtime module this usagectl installs (absolute, symlinks resolved)."""
    return os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "runtime.py"))


def _boot_code(runtime):
    table = watched_table()
    watched = tuple(table)
    if any("\n" in entry[2] or "\r" in entry[2] for entry in table.values()):
        raise UsagectlError("usagectl is installed under a path with a line break; "
                            "a .pth file cannot refer to it")
    if "\n" in runtime or "\r" in runtime:
        raise UsagectlError("usagectl is installed under a path with a line break (%r); "
                            "a .pth file cannot refer to it" % runtime)
    on_watched = _ON_WATCHED % {"runtime": runtime, "runtime_module": RUNTIME_MODULE, "table": table,
                                "fallback": fallback_env()}
    return _BOOT % {"watched": watched, "on_watched": on_watched, "module": BOOT_MODULE}


def _and(words):
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def render_pth(runtime=None):
    """The exact text `install` writes."""
    runtime = runtime or runtime_path()
    titles = [f.title for f in hooked_frameworks()]
    return "".join((
        MARKER + ": %s honour the usagectl telemetry consent file.\n" % _and(titles),
        "# Written by `usagectl hook install`; remove with `usagectl hook uninstall`. Do not edit.\n",
        "# At start-up it only adds an import watcher; the consent file is read when one of\n",
        "# their modules is imported. Runtime: %s\n" % runtime,
        "import sys; %r in sys.modules or exec(%r, {})\n" % (BOOT_MODULE, _boot_code(runtime)),
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


def file_state(site_dir, runtime=None):
    """What our .pth in ``site_dir`` is: installed, current, ours, runtime present."""
    path = os.path.join(site_dir, PTH_NAME)
    expected = render_pth(runtime)
    from usagectl import _files

    try:
        text = _files.read_regular(path, 1 << 20).decode("utf-8", "replace")
    except FileNotFoundError:
        return {"path": path, "installed": False, "current": False, "ours": False,
                "runtime": runtime or runtime_path(), "runtime_exists": None}
    ours = text.startswith(MARKER)
    recorded = _recorded_runtime(text)
    return {
        "path": path,
        "installed": True,
        "current": text == expected,
        "ours": ours,
        "runtime": recorded,
        "runtime_exists": os.path.isfile(recorded) if recorded else False,
    }


def _recorded_runtime(text):
    for line in text.splitlines():
        if line.startswith("# ") and "Runtime: " in line:
            return line.split("Runtime: ", 1)[1].strip()
    return None


def install(python=None):
    python = resolve_python(python)
    info = probe(python)
    site_dir = info["purelib"]
    if not os.path.isdir(site_dir):
        # Creating it ourselves would give it our private mode; the environment is odd.
        raise UsagectlError("%s has no site-packages directory (%s does not exist)" % (python, site_dir),
                            path=site_dir)
    before = file_state(site_dir)
    if before["installed"] and not before["ours"]:
        raise UsagectlError("%s exists and was not written by usagectl; left alone" % before["path"],
                            path=before["path"])
    changed = not before["current"]
    if changed:
        _write(before["path"], render_pth().encode("utf-8"))
    after = file_state(site_dir)
    # Ask the interpreter again: "installed" is only true if it really loads the file.
    active = bool(probe(python).get("hook_loaded"))
    return dict(after, python=python, site_packages=site_dir, version=info["version"],
                frameworks=info["frameworks"], changed=changed, was_installed=before["installed"],
                active=active)


def uninstall(python=None):
    python = resolve_python(python)
    info = probe(python)
    site_dir = info["purelib"]
    state = file_state(site_dir)
    if state["installed"] and not state["ours"]:
        raise UsagectlError("%s was not written by usagectl; left alone" % state["path"],
                            path=state["path"])
    removed = False
    if state["installed"]:
        try:
            os.unlink(state["path"])
            removed = True
        except FileNotFoundError:
            pass
        except PermissionError as exc:
            raise UsagectlError("cannot remove %s (%s)" % (state["path"], exc.strerror),
                                hint="run as a user who can write to that site-packages",
                                path=state["path"])
    return {"python": python, "site_packages": site_dir, "path": state["path"], "removed": removed}


def status(python=None):
    python = resolve_python(python)
    info = probe(python)
    state = file_state(info["purelib"])
    return dict(state, python=python, site_packages=info["purelib"], version=info["version"],
                frameworks=info["frameworks"], active=bool(info.get("hook_loaded")))


def _write(path, data):
    from usagectl.core import fsutil

    try:
        # Readable by everyone who runs this environment's Python, like the rest of it.
        fsutil.atomic_write(path, data, new_mode=0o644)
    except PermissionError as exc:
        raise UsagectlError("cannot write %s (%s)" % (path, exc.strerror),
                            hint="run as a user who can write to that site-packages, "
                                 "or pass --python for a virtual environment you own",
                            path=path)


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
