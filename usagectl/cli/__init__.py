"""The command line: click only, one thin module per command.

``app.main`` is the group; it loads a command's module only when that command runs
(click's lazy-group pattern), so `usagectl show-last parsl` imports show-last's code
and nothing of verify's or request-deletion's. ``runner`` (click-free) runs a command
body and prints its result; the fast path in usagectl.main uses it without click.
"""
