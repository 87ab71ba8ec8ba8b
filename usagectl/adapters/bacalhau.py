"""Bacalhau: analytics from `bacalhau serve` orchestrators, switched by DisableAnalytics."""

from usagectl.adapters.base import Adapter


class BacalhauAdapter(Adapter):
    name = "bacalhau"
    title = "Bacalhau"
    own_default = "on"
    own_default_note = "Bacalhau orchestrators send analytics unless DisableAnalytics is true"
    endpoints = ("t.bacalhau.org", "get.bacalhau.org")


ADAPTER = BacalhauAdapter()
