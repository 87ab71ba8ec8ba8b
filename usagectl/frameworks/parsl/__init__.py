"""Parsl: opt-in usage tracking set in code (see framework.py)."""

from usagectl.frameworks.parsl.framework import FRAMEWORK

__all__ = ["FRAMEWORK"]
