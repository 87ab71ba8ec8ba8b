"""The import-free TOML subset reader (it lives in usagectl/consent.py; see there)."""

from usagectl.consent import toml_subset_loads as loads

__all__ = ["loads"]
