import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from hypothesis import HealthCheck, settings  # noqa: E402

# Shared defaults of the property tests (test_differential.py, test_geometry.py);
# each test sets its own max_examples (scaled by CONVVIZ_HYPOTHESIS_SCALE, see
# tests/strategies.py).  No deadline: the first TF call of a session traces
# kernels and is far slower than the rest.
settings.register_profile(
    "convviz",
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "convviz"))
