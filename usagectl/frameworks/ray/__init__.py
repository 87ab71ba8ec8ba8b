"""Ray: usage stats its head node reports (see framework.py)."""

from usagectl.frameworks.ray.framework import FRAMEWORK

__all__ = ["FRAMEWORK"]
