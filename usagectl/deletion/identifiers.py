"""What identifies the usage data each framework holds: each framework's own
``gather_identifiers`` (in its home under usagectl/frameworks/), from local files only.

The containers and careful readers live in usagectl.core.identifiers.
"""

from usagectl import frameworks as registry
from usagectl.core.identifiers import Found, Identifier

__all__ = ["Found", "Identifier", "gather"]


def gather(env, frameworks, captured=True):
    """{framework: Found} for the named frameworks (unknown names get an empty Found),
    with the identifiers usagectl captured earlier (``captured``: see captured.py)."""
    from usagectl.deletion import captured as kept

    result = {}
    for name in frameworks:
        found = Found(name)
        framework = registry.get(name)
        if framework is None:
            found.notes.append("usagectl knows no local identifiers for %s" % name)
        else:
            try:
                framework.gather_identifiers(env, found)
            except Exception as exc:  # one framework's odd files must not hide the others
                found.problems.append("usagectl could not read %s's identifiers (%s)"
                                      % (framework.title, type(exc).__name__))
        if captured:
            kept.add_to(env, name, found)
        result[name] = found
    return result
