"""usagectl: one switch for the usage telemetry of Ray, Parsl, Bacalhau and Coiled/Dask.

This module is imported by frameworks through ``usagectl.consent``, so it must stay
free of imports: no click, rich or tomlkit here.
"""

__version__ = "0.1.0"
