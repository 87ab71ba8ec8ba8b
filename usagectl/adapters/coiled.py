"""Coiled analytics for Dask: coiled.analytics.* keys in the dask config."""

from usagectl.adapters.base import Adapter


class CoiledAdapter(Adapter):
    name = "coiled"
    title = "Coiled/Dask"
    own_default = "on"
    own_default_note = "Coiled-managed clusters collect analytics; self-managed ones only when registered"
    endpoints = ("cloud.coiled.io",)


ADAPTER = CoiledAdapter()
