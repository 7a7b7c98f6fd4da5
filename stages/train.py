"""Build, compile and fit the dense classifier on a prepared dataset, validating on its held-out set.

Reads <prepared>/{X_train,y_train,X_valid,y_valid}.npy.
Writes a folder holding the model (model.keras), its per-epoch history (history.csv) and the environment that
trained it (environment.json), and, epoch by epoch while it trains, the metrics in a DVCLive folder. A killed run,
started again, resumes after its last complete epoch.
"""

import argparse
from pathlib import Path

import keras
import tensorflow as tf

from lessonkit import params, saved
from lessonkit.checkpoints import run_key
from lessonkit.errors import ParamsError, run
from lessonkit.formats import NUM_CLASSES, load_arrays
from lessonkit.model import build_model, compile_model, steps_per_epoch
from lessonkit.training import Training


def main(
    prepared: Path,
    trained: Path,
    checkpoints: Path,
    live: Path,
    seed: int,
    model: params.ModelParams,
    train: params.TrainParams,
    callbacks: tuple[keras.callbacks.Callback, ...] = (),
) -> None:
    """`callbacks`: more Keras callbacks for the fit, e.g. to watch every epoch's weights (bench/seeds.py)."""
    arrays = load_arrays(prepared, "X_train", "y_train", "X_valid", "y_valid")
    X_train, y_train, X_valid, y_valid = arrays
    key = run_key(seed, model, train, arrays)
    training = Training(prepared.name, seed, train, checkpoints, key, live)
    try:
        with training.scope():  # the devices train.distribute names
            classifier = build_model(
                X_train.shape[1:], NUM_CLASSES, model.hidden_units, model.activation, model.dropout, model.input_dropout
            )
            steps = train.epochs * steps_per_epoch(len(X_train), train.batch_size)
            compile_model(classifier, train.optimizer, train.schedule, steps)
        history = training.fit(classifier, (X_train, y_train), (X_valid, y_valid), callbacks)
    except tf.errors.ResourceExhaustedError:
        raise ParamsError(
            f"{prepared.name}: out of memory training model.hidden_units {list(model.hidden_units)} at "
            f"train.batch_size {train.batch_size}; make them smaller"
        ) from None
    if training.writes_outputs:
        saved.save(trained, classifier, history, training.environment())
        print(f"{prepared.name}: saved {trained}")
    training.finish()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("prepared", type=Path, help="folder of the prepare stage's arrays")
    parser.add_argument("trained", type=Path, help="folder to write the model, its history and environment to")
    parser.add_argument("checkpoints", type=Path, help="where to keep each epoch's state until the run ends")
    parser.add_argument("live", type=Path, help="DVCLive's folder: each epoch's metrics, as training goes")
    arguments = parser.parse_args()
    run(
        lambda: main(
            arguments.prepared,
            arguments.trained,
            arguments.checkpoints,
            arguments.live,
            *params.load("seed", "model", "train"),
        )
    )
