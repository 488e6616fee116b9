"""The budget property-based tests run with, one place for all of them: import this module (its
``settings`` are loaded on import) before any ``@given``.

``make test`` runs the ``ci`` profile: a bounded number of examples, derandomized (the same examples every
run, so a test that passes today passes tomorrow: no flakiness), no deadline (a loaded 2-core machine is
slow, not wrong), no example database written into the checkout. ``HYPOTHESIS_PROFILE=thorough`` runs
many more examples, with fresh randomness, to hunt for new failures by hand.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough", max_examples=5000, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
