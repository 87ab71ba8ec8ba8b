"""What each framework actually sent (or tried to send): payload records read from disk.

One module per source: Ray's usage_stats.json files (ray_sessions), Parsl's logs
(parsl_log), and usagectl's own sent ledger (ledger, stdlib only, written by the
runtime hook). ``collect`` merges them for `usagectl show-last`.
"""
