"""Train many small, independent autoencoders as one Keras model: one compiled step for all.

Training fifteen tiny models one after the other repeats TensorFlow's fixed costs fifteen
times: a traced and compiled step per model and fifteen calls per batch.  :func:`join` makes
them the branches of one model instead, and :func:`train_side_by_side` updates every branch
with one compiled step per batch.  Each branch still learns exactly what it would learn alone:

- the branches share no weights;
- the loss is the sum of the branches' own mean squared errors, so the gradient with respect to
  one branch's weights is that branch's own gradient;
- Adam updates every weight from that weight's own gradient history only;
- branches are grouped, and each group reads its own batches (its own shuffle of the data),
  so models trained with different seeds also see their data in different orders.

``tests/test_experiment.py`` checks this: a model trained alone and trained next to others ends
with identical weights.  This module only makes the chapter's experiment affordable; what the
experiment measures is in :mod:`upsampling_course.experiment`.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import keras

__all__ = [
    "Joined",
    "join",
    "train_side_by_side",
    "reconstruction_errors",
    "without_graph_rewrites",
]


@dataclass(frozen=True)
class Joined:
    """Branches joined into one model: input ``g`` feeds every branch of group ``g``."""

    model: keras.Model
    #: For each of the model's outputs (in order), the group, hence the input, it reads.
    groups: tuple[int, ...]

    def __call__(self, feeds: Sequence[object], training: bool = False) -> list:
        """Every branch's output, in order, for one batch per input (a list even for one)."""
        outputs = self.model(list(feeds), training=training)
        return list(outputs) if isinstance(outputs, list | tuple) else [outputs]


def join(groups: Sequence[Sequence[keras.Model]]) -> Joined:
    """One model with an input per group; every model of group ``g`` reads input ``g``.

    The joined model's outputs are the branches' outputs as a flat list, group after group, in
    the order given.  The branches keep their own weights (and names, which must be unique).
    """
    import keras

    inputs = [keras.Input(shape=tuple(group[0].input_shape[1:])) for group in groups]
    outputs = [branch(feed) for feed, group in zip(inputs, groups, strict=True) for branch in group]
    owners = tuple(g for g, group in enumerate(groups) for _ in group)
    return Joined(keras.Model(inputs, outputs, name="side_by_side"), owners)


def train_side_by_side(
    joined: Joined,
    images: np.ndarray,
    *,
    group_seeds: Sequence[int],
    batch_size: int,
    learning_rate: float,
    max_epochs: int,
    after_epoch: Callable[[int], bool],
) -> int:
    """Train every branch of a :func:`join`-ed model to reproduce ``images`` (Adam, MSE).

    The learning rate starts at ``learning_rate`` and decays to zero along a cosine over
    ``max_epochs`` epochs.

    Group ``g`` draws its batches from its own generator, seeded with ``group_seeds[g]``: a new
    shuffle of ``images`` every epoch, cut into batches of ``batch_size`` (the few images left
    over in an epoch are skipped, so the compiled step is traced once).  After each epoch
    ``after_epoch(epochs_done)`` is called; training stops when it returns True or after
    ``max_epochs`` epochs.  Returns the number of epochs trained.
    """
    import keras
    import tensorflow as tf

    model = joined.model
    if len(group_seeds) != len(model.inputs):
        raise ValueError(f"{len(model.inputs)} groups of branches but {len(group_seeds)} seeds")
    batches_per_epoch = len(images) // batch_size
    # The step size falls from learning_rate to zero along a cosine over max_epochs epochs.
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, max_epochs * batches_per_epoch)
    optimizer = keras.optimizers.Adam(schedule)
    weights = model.trainable_variables
    # Creating the optimizer's slots now, outside the compiled step, spares tf.function a
    # second trace.
    optimizer.build(weights)

    @tf.function
    def step(batches: list[tf.Tensor]) -> None:
        with tf.GradientTape() as tape:
            outputs = joined(batches, training=True)
            errors = [
                keras.ops.mean(keras.ops.square(out - batches[g]))
                for out, g in zip(outputs, joined.groups, strict=True)
            ]
            loss = keras.ops.sum(keras.ops.stack(errors))
        optimizer.apply(tape.gradient(loss, weights), weights)

    generators = [np.random.default_rng(seed) for seed in group_seeds]
    epochs = 0
    with without_graph_rewrites():
        while epochs < max_epochs:
            orders = [rng.permutation(len(images)) for rng in generators]
            for b in range(batches_per_epoch):
                chosen = slice(b * batch_size, (b + 1) * batch_size)
                step([tf.constant(images[order[chosen]]) for order in orders])
            epochs += 1
            if after_epoch(epochs):
                break
    return epochs


def reconstruction_errors(joined: Joined) -> Callable[[np.ndarray], np.ndarray]:
    """A compiled function: images -> every branch's mean squared error on them (a vector).

    Every input of the joined model receives the same images.  Compiled once, so evaluating
    after every epoch costs one call, not one per branch.
    """
    import keras
    import tensorflow as tf

    model = joined.model
    feeds = len(model.inputs)

    @tf.function
    def errors(images: tf.Tensor) -> tf.Tensor:
        outputs = joined([images] * feeds)
        return keras.ops.stack([keras.ops.mean(keras.ops.square(out - images)) for out in outputs])

    def run(images: np.ndarray) -> np.ndarray:
        with without_graph_rewrites():
            return np.asarray(errors(tf.constant(images)), dtype=float)

    return run


@contextlib.contextmanager
def without_graph_rewrites() -> Iterator[None]:
    """Switch off TensorFlow's graph optimizer (Grappler) inside the block, then restore it.

    Grappler rewrites a compiled function's graph before its first run.  That pays off for big
    graphs run many times; for these tiny models the rewriting costs more than it saves.  The
    numbers stay deterministic either way.
    """
    import tensorflow as tf

    options = tf.config.optimizer
    before = options.get_experimental_options().get("disable_meta_optimizer", False)
    options.set_experimental_options({"disable_meta_optimizer": True})
    try:
        yield
    finally:
        options.set_experimental_options({"disable_meta_optimizer": before})
