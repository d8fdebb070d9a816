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


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def site():
    """The built book to test, once per session for every browser test module: ``CONVVIZ_BROWSER_HTML``, or
    ``_build/html`` after the strict build of ``make book`` (cached execution keeps it quick; set
    ``CONVVIZ_BROWSER_NO_BUILD=1`` to test an existing build as it is)."""
    import browser_support as bs

    html_dir = bs.html_dir()
    if not (os.environ.get("CONVVIZ_BROWSER_NO_BUILD") or os.environ.get("CONVVIZ_BROWSER_HTML")):
        result = bs.build_book()
        if result.returncode != 0:
            log = (result.stdout + result.stderr).splitlines()
            pytest.fail("jupyter-book build failed:\n" + "\n".join(log[-150:]), pytrace=False)
    assert (html_dir / "index.html").is_file(), f"no book in {html_dir}"
    return html_dir
