"""Shared test settings: a non-GUI matplotlib backend for figures made in this process
(notebook kernels keep their own inline backend) and a bounded hypothesis profile."""

import matplotlib

matplotlib.use("Agg")

from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile("course", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("course")
