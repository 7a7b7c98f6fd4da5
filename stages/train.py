"""Build, compile and fit the dense classifier on a prepared dataset, validating on its held-out set.

Reads <prepared>/{X_train,y_train,X_valid,y_valid}.npy.
Writes a folder holding the model (model.keras), its per-epoch history (history.csv) and the environment that
trained it (environment.json). A killed run, started again, resumes after its last complete epoch.
"""

import argparse
import time
from pathlib import Path

from stages import distributed, environment, params
from stages.checkpoints import EpochCheckpoints, run_key
from stages.common import atomic_path, run, write_json
from stages.data import NUM_CLASSES, load_arrays
from stages.model import (
    ENVIRONMENT,
    HISTORY,
    MODEL,
    DivergenceError,
    EpochProgress,
    StopOnDivergence,
    WholeEpochs,
    build_model,
    compile_model,
    make_deterministic,
    portable,
    write_history,
)


def main(
    prepared: Path,
    trained: Path,
    checkpoints_root: Path,
    seed: int,
    model: params.ModelParams,
    train: params.TrainParams,
) -> None:
    make_deterministic(seed, train.threads)
    whole_epochs = train.distribute == "none"
    arrays = load_arrays(prepared, "X_train", "y_train", "X_valid", "y_valid")
    x_train, y_train, x_valid, y_valid = arrays
    strategy = distributed.strategy(train.distribute)
    chief = distributed.is_chief(strategy)
    if not chief:
        checkpoints_root = distributed.scratch(strategy, checkpoints_root)
    checkpoints = EpochCheckpoints(checkpoints_root, run_key(seed, model, train, arrays))
    done = checkpoints.saved_epoch()
    if not whole_epochs:
        distributed.agree(strategy, done)
    with strategy.scope():
        classifier = build_model(x_train.shape[1:], NUM_CLASSES, model.hidden_units, model.activation, model.dropout)
        models = (
            (WholeEpochs(classifier, train.batch_size, train.jit_compile), classifier)
            if whole_epochs
            else (classifier,)
        )
        trainer = models[0]
        schedule_steps = train.epochs * -(-len(x_train) // train.batch_size)
        compile_model(models, train.optimizer, train.learning_rate, train.schedule, schedule_steps)
        if done:
            checkpoints.restore(trainer, done)
            print(f"{prepared.name}: resuming after epoch {done} of {train.epochs}, saved in {checkpoints.folder}")
    advice = f"lower train.learning_rate (now {train.learning_rate:g}) or change train.optimizer ({train.optimizer})"
    callbacks = [
        StopOnDivergence(prepared.name, NUM_CLASSES, advice),
        checkpoints,
        EpochProgress(prepared.name, done, train.epochs),
    ]
    started = time.perf_counter()
    training, validation = (x_train, y_train), (x_valid, y_valid)
    try:
        if whole_epochs:
            trainer.fit_epochs(training, validation, done, train.epochs, callbacks)
        else:
            distributed.fit(strategy, classifier, training, validation, train.batch_size, done, train.epochs, callbacks)
    except DivergenceError:
        checkpoints.finish()  # a rerun with the same params would only diverge again
        raise
    seconds = time.perf_counter() - started
    if not chief:
        checkpoints.finish()
        print(f"{prepared.name}: trained {train.epochs - done} epochs as a worker; the chief writes the outputs")
        return
    kept = checkpoints.best_epoch() if train.keep == "best" else train.epochs
    trainer.load_weights(checkpoints.weights(kept))
    with atomic_path(trained) as temporary:
        temporary.mkdir()
        portable(classifier).save(temporary / MODEL)
        write_history(checkpoints.history, temporary / HISTORY)
        write_json(
            temporary / ENVIRONMENT,
            environment.describe(whole_epochs and train.jit_compile, train.distribute, strategy.num_replicas_in_sync),
        )
    checkpoints.finish()
    print(
        f"{prepared.name}: trained {train.epochs - done} epochs in {seconds:.1f} s; kept epoch {kept} "
        f"(validation accuracy {checkpoints.history['val_accuracy'][kept - 1]:.4f}); saved {trained}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("prepared", type=Path, help="folder of the prepare stage's arrays")
    parser.add_argument("trained", type=Path, help="folder to write the model, its history and environment to")
    parser.add_argument("checkpoints", type=Path, help="where to keep each epoch's state until the run ends")
    arguments = parser.parse_args()
    run(
        lambda: main(
            arguments.prepared,
            arguments.trained,
            arguments.checkpoints,
            *params.load("seed", "model", "train"),
        )
    )
