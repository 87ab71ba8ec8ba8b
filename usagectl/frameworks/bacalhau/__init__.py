"""Bacalhau: analytics from `bacalhau serve` orchestrators (see framework.py)."""

from usagectl.frameworks.bacalhau.framework import FRAMEWORK

__all__ = ["FRAMEWORK"]
