"""Parsl: opt-in usage tracking set in code with Config(usage_tracking=0..3)."""

from usagectl.adapters.base import Adapter


class ParslAdapter(Adapter):
    name = "parsl"
    title = "Parsl"
    own_default = "off"
    own_default_note = "Parsl tracks usage only when Config(usage_tracking=...) asks for it"
    has_levels = True
    endpoints = ("tracking.parsl-project.org",)


ADAPTER = ParslAdapter()
