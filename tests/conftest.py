"""Settings shared by the claim tests."""

import os

from hypothesis import HealthCheck, settings

# Property tests: enough examples to find a counterexample, bounded for a fast default run.
# Deadline off: the first call into a torch kernel can take far longer than the rest.
settings.register_profile(
    "default", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("BLITZ_HYPOTHESIS_PROFILE", "default"))
