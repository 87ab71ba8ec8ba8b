"""Coiled analytics for Dask (see framework.py)."""

from usagectl.frameworks.coiled.framework import FRAMEWORK

__all__ = ["FRAMEWORK"]
