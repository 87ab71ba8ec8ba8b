"""Ray: usage stats reported by the head node's dashboard (see shared FRAMEWORKS notes)."""

from usagectl.adapters.base import Adapter


class RayAdapter(Adapter):
    name = "ray"
    title = "Ray"
    own_default = "on"
    own_default_note = "Ray reports usage stats unless told not to"
    endpoints = ("usage-stats.ray.io",)


ADAPTER = RayAdapter()
