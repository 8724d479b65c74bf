"""Shared fixtures of the reference tests: a quiet, seeded Keras and seeded random arrays."""
import numpy as np
import pytest

import upsampling_course as uc


@pytest.fixture(scope="session")
def keras():
    return uc.setup_keras(seed=0)


@pytest.fixture(scope="session")
def tf(keras):
    import tensorflow

    return tensorflow


def _random_array(seed, shape, integers=None):
    """A float32 array drawn from ``seed``: normal values, or integers in ``[0, integers)`` to force ties."""
    rng = np.random.default_rng(seed)
    if integers is None:
        return rng.normal(size=shape).astype(np.float32)
    return rng.integers(0, integers, size=shape).astype(np.float32)


@pytest.fixture(scope="session")
def random_array():
    # Session-scoped, so hypothesis tests may use it (function-scoped fixtures are not reset
    # between hypothesis examples).
    return _random_array
