"""Hypothesis settings: CI runs (CI=true) use a fixed derandomised search so
that a green run can be repeated exactly; local runs keep exploring new
examples."""
import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
