"""Feature-map diagrams (upsampling_course.diagrams): to scale, one row per layer, phone-sized."""
import matplotlib

matplotlib.use("Agg")  # headless; must precede the pyplot import

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import FancyArrowPatch, Rectangle  # noqa: E402

from upsampling_course.diagrams import FeatureMap, plot_feature_maps  # noqa: E402

MAPS = [FeatureMap("Input", (100,)), FeatureMap("Reshape", (7, 7, 128)),
        FeatureMap("UpSampling2D", (14, 14, 128)), FeatureMap("Conv2D", (28, 28, 1))]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_squares_to_scale_labels_and_a_phone_sized_figure():
    fig = plot_feature_maps(MAPS, title="grows")
    ax = fig.axes[0]
    squares = [p for p in ax.patches if isinstance(p, Rectangle)]
    sides = [p.get_height() for p in squares]
    assert sides[1:] == pytest.approx([0.25, 0.5, 1.0])  # 7, 14, 28 pixels, largest 1 in
    assert sides[0] < 0.1  # a vector is a thin bar
    texts = [t.get_text() for t in ax.texts]
    assert "vector of 100" in texts and "28x28x1" in texts and "UpSampling2D" in texts
    assert fig.get_figwidth() <= 3.5  # 336 px: a phone's column shows it unscaled


def test_links_join_rows_without_crossing():
    maps = [FeatureMap(n, (s, s, 1)) for n, s in [("image", 8), ("pool1", 4), ("pool2", 2),
                                                   ("unpool2", 4), ("unpool1", 8)]]
    fig = plot_feature_maps(maps, title="t", links=[("pool1", "unpool1"), ("pool2", "unpool2")])
    arrows = [p for p in fig.axes[0].patches if isinstance(p, FancyArrowPatch)]
    assert len(arrows) == 2
    # The link with the longer span is further out, so nested links never cross.
    columns = [max(v[0] for v in arrow.get_path().vertices) for arrow in arrows]
    assert columns[0] < columns[1]
