"""The Keras pooling-with-switches and unpooling layers against the NumPy reference."""
import numpy as np
import pytest
from hypothesis import given

from tests.reference.strategies import poolings, sweep
from upsampling_course.reference import max_pool_with_argmax, max_unpool

SWEEP = sweep(100)


@pytest.fixture(scope="session")
def layers(keras):
    from upsampling_course import layers

    return layers


def check_layers_against_reference(layers, random_array, case, rank):
    pool_class = {2: layers.MaxPoolingWithArgmax2D, 3: layers.MaxPoolingWithArgmax3D}[rank]
    unpool_class = {2: layers.MaxUnpooling2D, 3: layers.MaxUnpooling3D}[rank]
    x = random_array(case["seed"], case["shape"], case["integers"])
    pool = pool_class(case["pool_size"], case["strides"], case["padding"])
    pooled, argmax = pool(x)
    ref_pooled, ref_argmax = max_pool_with_argmax(x, case["pool_size"], case["strides"], case["padding"])
    np.testing.assert_array_equal(pooled, ref_pooled)
    np.testing.assert_array_equal(argmax, ref_argmax)
    assert tuple(pool.compute_output_shape(x.shape)[0]) == ref_pooled.shape
    expected = max_unpool(ref_pooled, ref_argmax, x.shape)
    np.testing.assert_array_equal(unpool_class(output_size=x.shape[1:-1])([pooled, argmax]), expected)
    np.testing.assert_array_equal(unpool_class()([pooled, argmax, x]), expected)


@SWEEP
@given(case=poolings(rank=2, max_size=7))
def test_2d_layers_match_the_reference(layers, random_array, case):
    check_layers_against_reference(layers, random_array, case, rank=2)


@SWEEP
@given(case=poolings(rank=3, max_size=4))
def test_3d_layers_match_the_reference(layers, random_array, case):
    check_layers_against_reference(layers, random_array, case, rank=3)


@pytest.mark.parametrize("rank", [2, 3])
def test_ties_go_to_the_first_maximum_of_the_window(layers, rank):
    x = np.ones((2, *[4] * rank, 3), np.float32)
    pool_class = {2: layers.MaxPoolingWithArgmax2D, 3: layers.MaxPoolingWithArgmax3D}[rank]
    _, argmax = pool_class()(x)
    _, expected = max_pool_with_argmax(x, (2,) * rank)
    np.testing.assert_array_equal(argmax, expected)
    # The first pixel of every window is its corner nearest the origin: even coordinates.
    corner = np.unravel_index(np.asarray(argmax) // 3, (4,) * rank)
    assert all((c % 2 == 0).all() for c in corner)


def test_default_size_doubles_each_axis(layers):
    x = np.random.default_rng(3).normal(size=(2, 4, 6, 2)).astype(np.float32)
    restored = layers.MaxUnpooling2D()(list(layers.MaxPoolingWithArgmax2D()(x)))
    np.testing.assert_array_equal(restored, max_unpool(*max_pool_with_argmax(x), x.shape))


@pytest.mark.parametrize("rank", [2, 3])
def test_encoder_decoder_model_with_switches(keras, layers, rank):
    pool_class = {2: layers.MaxPoolingWithArgmax2D, 3: layers.MaxPoolingWithArgmax3D}[rank]
    unpool_class = {2: layers.MaxUnpooling2D, 3: layers.MaxUnpooling3D}[rank]
    spatial = (5, 6) if rank == 2 else (3, 4, 5)  # odd sizes: the third input gives them back
    inputs = keras.Input(shape=(*spatial, 2))
    pooled, switches = pool_class(name="pool")(inputs)
    outputs = unpool_class(name="unpool")([pooled, switches, inputs])
    model = keras.Model(inputs, [pooled, switches, outputs])
    assert model.output_shape == [(None, *(n // 2 for n in spatial), 2)] * 2 + [(None, *spatial, 2)]

    for batch in (1, 4):  # one model, two batch sizes
        x = np.random.default_rng(batch).normal(size=(batch, *spatial, 2)).astype(np.float32)
        got_pooled, got_switches, restored = model(x)
        ref_pooled, ref_switches = max_pool_with_argmax(x, (2,) * rank)
        np.testing.assert_array_equal(got_pooled, ref_pooled)
        np.testing.assert_array_equal(got_switches, ref_switches)
        np.testing.assert_array_equal(restored, max_unpool(ref_pooled, ref_switches, x.shape))


@pytest.mark.parametrize("rank", [2, 3])
def test_gradient_flows_to_the_switches_only(tf, layers, rank):
    pool_class = {2: layers.MaxPoolingWithArgmax2D, 3: layers.MaxPoolingWithArgmax3D}[rank]
    unpool_class = {2: layers.MaxUnpooling2D, 3: layers.MaxUnpooling3D}[rank]
    x = tf.Variable(np.random.default_rng(0).normal(size=(2, *[4] * rank, 3)).astype(np.float32))
    weights = np.random.default_rng(1).normal(size=x.shape).astype(np.float32)
    with tf.GradientTape() as tape:
        pooled, switches = pool_class()(x)
        loss = tf.reduce_sum(unpool_class()([pooled, switches]) * weights)
    gradient = tape.gradient(loss, x).numpy()
    at_switches = np.zeros(x.shape, np.float32)
    at_switches.reshape(2, -1)[np.arange(2)[:, None], np.asarray(switches).reshape(2, -1)] = 1
    np.testing.assert_allclose(gradient, weights * at_switches)


@pytest.mark.training
def test_model_trains_with_fit(keras, layers):
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(4, 4, 4, 1))
    pooled, switches = layers.MaxPoolingWithArgmax3D()(keras.layers.Conv3D(2, 3, padding="same")(inputs))
    outputs = keras.layers.Conv3D(1, 1)(layers.MaxUnpooling3D()([pooled, switches]))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).normal(size=(8, 4, 4, 4, 1)).astype(np.float32)
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(x, x, epochs=2, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


@pytest.mark.parametrize("name", ["MaxPoolingWithArgmax2D", "MaxPoolingWithArgmax3D", "MaxUnpooling2D",
                                  "MaxUnpooling3D"])
def test_layers_are_registered_and_round_trip_their_config(keras, layers, name):
    layer_class = getattr(layers, name)
    assert keras.saving.get_registered_name(layer_class) == f"upsampling_course>{name}"
    rank = int(name[-2])
    if name.startswith("MaxPooling"):
        args = dict(pool_size=(3,) * rank, strides=(2,) * rank, padding="same")
    else:
        args = dict(size=(3,) * rank, output_size=(7,) * rank)
    layer = layer_class(name="custom", **args)
    clone = layer_class.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    for key, value in args.items():
        assert getattr(clone, key) == value
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is layer_class and restored.get_config() == layer.get_config()


def test_saved_model_file_round_trip(keras, layers, tmp_path):
    inputs = keras.Input(shape=(6, 6, 2))
    pooled, switches = layers.MaxPoolingWithArgmax2D(pool_size=3, strides=3)(inputs)
    outputs = layers.MaxUnpooling2D(size=3)([pooled, switches])
    model = keras.Model(inputs, outputs)
    path = tmp_path / "unpooling.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    x = np.random.default_rng(5).normal(size=(3, 6, 6, 2)).astype(np.float32)
    np.testing.assert_array_equal(loaded(x), model(x))
    np.testing.assert_array_equal(loaded(x), max_unpool(*max_pool_with_argmax(x, (3, 3)), x.shape))


def test_3d_pooling_needs_static_spatial_sizes(keras, layers):
    with pytest.raises(ValueError, match="static spatial sizes"):
        layers.MaxPoolingWithArgmax3D()(keras.Input(shape=(None, 4, 4, 1)))


def test_bad_arguments_are_rejected(layers):
    with pytest.raises(ValueError, match="padding"):
        layers.MaxPoolingWithArgmax2D(padding="full")
    with pytest.raises(ValueError, match="pool_size"):
        layers.MaxPoolingWithArgmax3D(pool_size=(2, 2))


@pytest.mark.parametrize("rank", [2, 3])
def test_unpooling_a_map_of_another_shape_than_its_switches_is_refused(keras, layers, rank):
    pool = {2: layers.MaxPoolingWithArgmax2D, 3: layers.MaxPoolingWithArgmax3D}[rank]
    unpool = {2: layers.MaxUnpooling2D, 3: layers.MaxUnpooling3D}[rank]
    conv = {2: keras.layers.Conv2D, 3: keras.layers.Conv3D}[rank]
    features = keras.Input(shape=(4,) * rank + (8,))
    pooled, switches = pool()(features)
    wider = conv(16, 1)(pooled)  # 16 channels, switches of 8
    with pytest.raises(ValueError, match=r"its switches .*shape"):
        unpool()([wider, switches])
    with pytest.raises(ValueError, match="switches"):  # eager, too
        x = np.ones((1,) + (4,) * rank + (8,), dtype="float32")
        eager_pooled, eager_switches = pool()(x)
        unpool()([eager_pooled[..., :4], eager_switches])
    assert unpool()([pooled, switches]).shape[1:] == (4,) * rank + (8,)
