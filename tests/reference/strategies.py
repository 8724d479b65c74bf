"""Hypothesis strategies shared by the reference tests."""
from hypothesis import settings
from hypothesis import strategies as st

from tests.hypothesis_profiles import FULL_PROFILE_EXAMPLES


@st.composite
def poolings(draw, rank, max_size):
    """A pooling case: input shape, pool size, strides and padding Keras and TensorFlow accept."""
    pool_size = draw(st.tuples(*[st.integers(1, 3)] * rank))
    strides = draw(st.tuples(*[st.integers(1, 3)] * rank))
    padding = draw(st.sampled_from(["valid", "same"]))
    low = pool_size if padding == "valid" else (1,) * rank
    spatial = tuple(draw(st.integers(lo, max_size)) for lo in low)
    shape = (draw(st.integers(1, 3)), *spatial, draw(st.integers(1, 3)))
    # Half the examples have values in {0, 1, 2}: windows then hold many ties.
    integers = draw(st.sampled_from([None, 3]))
    return dict(seed=draw(st.integers(0, 2**31)), shape=shape, integers=integers,
                pool_size=pool_size, strides=strides, padding=padding)


def sweep(max_examples: int) -> settings:
    """A reference sweep: ``max_examples`` cases under the full hypothesis profile (``make
    test``), proportionally fewer under ``fast`` (``make test-fast``; tests/conftest.py)."""
    scale = settings.default.max_examples / FULL_PROFILE_EXAMPLES
    return settings(max_examples=max(2, round(max_examples * scale)), derandomize=True,
                    deadline=None)
