"""Hypothesis profiles: ``full`` (hypothesis's default number of examples; ``make test``) and
``fast`` (a tenth of them; ``make test-fast`` passes ``--hypothesis-profile=fast``).

Registered by tests/conftest.py. Sweeps that set their own number of examples scale with the
profile in force (tests/reference/strategies.py, ``sweep``).
"""

from hypothesis import settings

FULL_PROFILE_EXAMPLES = 100
settings.register_profile("full", max_examples=FULL_PROFILE_EXAMPLES)
settings.register_profile("fast", max_examples=FULL_PROFILE_EXAMPLES // 10)
