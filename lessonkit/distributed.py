"""Training under a tf.distribute strategy: several devices of one machine, or several machines.

Keras 3's `fit` does not run under MultiWorkerMirroredStrategy (keras-team/keras#20585), so this is the custom
training loop of TensorFlow's distributed-training guide: `strategy.run` on each global batch, gradients summed
across replicas by the Keras optimizer, the loss averaged over the global batch. Each epoch's shuffle is seeded by
the epoch number (under the params seed), so a resumed run shuffles as an unbroken one would.
"""

import json
import os
import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from lessonkit.errors import PipelineError


def strategy(name: str) -> tf.distribute.Strategy:
    """The strategy for train.distribute: none (TensorFlow's default), mirrored or multi_worker."""
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        try:
            cluster = json.loads(os.environ["TF_CONFIG"])["cluster"]
        except (KeyError, TypeError, json.JSONDecodeError):
            raise PipelineError(
                "train.distribute is multi_worker, but TF_CONFIG does not describe a cluster; set it on every "
                'worker, e.g. TF_CONFIG=\'{"cluster": {"worker": ["host1:2222", "host2:2222"]}, '
                '"task": {"type": "worker", "index": 0}}\''
            ) from None
        print(f"multi-worker training on {json.dumps(cluster)}")
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the outputs: the chief, or worker 0 of a cluster without one."""
    resolver = strategy.cluster_resolver
    if resolver is None or resolver.task_type in (None, "chief"):
        return True
    return resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in resolver.cluster_spec().jobs


def scratch(strategy: tf.distribute.Strategy, folder: Path) -> Path:
    """Where a worker that is not the chief keeps `folder`: outside the project, the same on every run."""
    resolver = strategy.cluster_resolver
    return Path(tempfile.gettempdir(), f"keras-lesson-{resolver.task_type}-{resolver.task_id}-{folder.name}")


def agree(strategy: tf.distribute.Strategy, epoch: int) -> None:
    """Fail unless every worker resumes from the same epoch; before any variable exists, since creating one is a
    collective operation every worker must join."""
    epochs = strategy.gather(strategy.run(lambda: tf.constant([epoch])), axis=0).numpy().tolist()
    if len(set(epochs)) > 1:
        raise PipelineError(
            f"the workers would resume after different epochs ({', '.join(map(str, epochs))}); delete the "
            "checkpoints folder on every worker, then start them all again"
        )


def fit(
    strategy: tf.distribute.Strategy,
    classifier: keras.Model,
    train: tuple[np.ndarray, np.ndarray],
    valid: tuple[np.ndarray, np.ndarray],
    batch_size: int,
    initial_epoch: int,
    epochs: int,
    callbacks: list[keras.callbacks.Callback],
) -> None:
    """Train `classifier` (built and compiled in `strategy`'s scope) on global batches of `batch_size`.

    After each epoch, the callbacks' `on_epoch_end` gets the epoch's training loss and accuracy (over all replicas)
    and the validation ones (each worker evaluates the whole validation set with the same weights).
    """
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    examples = tf.data.Dataset.from_tensor_slices(train)
    optimizer = classifier.optimizer

    def step(x, y):
        with tf.GradientTape() as tape:
            probabilities = classifier(x, training=True)
            losses = keras.losses.sparse_categorical_crossentropy(y, probabilities)
            loss = tf.nn.compute_average_loss(losses)  # over the global batch
        gradients = tape.gradient(loss, classifier.trainable_variables)
        optimizer.apply(gradients, classifier.trainable_variables)
        correct = tf.cast(tf.argmax(probabilities, axis=-1) == tf.cast(y, tf.int64), tf.float32)
        totals = tf.stack([tf.reduce_sum(losses), tf.reduce_sum(correct), tf.cast(tf.size(y), tf.float32)])
        return tf.distribute.get_replica_context().all_reduce("SUM", totals)

    @tf.function
    def run_epoch(batches):
        totals = tf.zeros(3)
        for batch in batches:
            totals += strategy.experimental_local_results(strategy.run(step, args=batch))[0]
        return totals

    predict = tf.function(lambda x: classifier(x, training=False))
    for callback in callbacks:
        callback.set_model(classifier)
    for epoch in range(initial_epoch, epochs):
        batches = strategy.experimental_distribute_dataset(
            examples.shuffle(len(train[0]), seed=epoch).batch(batch_size).with_options(options)
        )
        loss, correct, count = run_epoch(batches).numpy()
        probabilities = predict(valid[0])
        logs = {
            "loss": loss / count,
            "accuracy": correct / count,
            "val_loss": float(np.mean(keras.losses.sparse_categorical_crossentropy(valid[1], probabilities))),
            "val_accuracy": float(np.mean(np.argmax(probabilities, axis=-1) == valid[1])),
        }
        for callback in callbacks:
            callback.on_epoch_end(epoch, logs)
