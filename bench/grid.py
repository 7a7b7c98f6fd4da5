"""The search for the default recipe: a grid of experiments queued with DVC and judged on the validation set only.

Run from the project root after `make`, with nothing uncommitted: `python -m bench.grid` (about 2.5 minutes per
combination on 2 CPU cores). Queues each combination of the grids in GRIDS not yet in reports/grid.csv with
`dvc exp run --queue`, for the train stages only (the test set stays untouched), runs the queue one experiment at a
time, and rewrites reports/grid.csv with their results from `dvc exp show --csv`: each combination's last-epoch
validation accuracy and loss per dataset, best first. `--rerun` trains every combination again, the table's too;
the numerics are the same on every x86-64 CPU, so a rerun rewrites the same table.
"""

import argparse
import csv
import functools
import io
import itertools
import operator
import re
import subprocess
import sys
import time
from pathlib import Path

import yaml

# What the grids vary from, where params.yaml's default has since changed to the search's winner: so a rerun
# queues the same experiments and writes the same table. An empty value: the key was not in params.yaml.
SEARCHED_FROM = {"model.input_dropout": ["0.0"], "train.optimizer.weight_decay": [""], "model.activation": ["relu"]}
GRIDS = [  # params.yaml keys and the values to try; every combination within a grid is one experiment
    {**SEARCHED_FROM, **grid}
    for grid in [
        {"model.input_dropout": ["0.0", "0.1", "0.2"], "model.dropout": ["0.2", "0.3"]},  # regularization
        {"model.dropout": ["0.4"]},
        {"train.optimizer.learning_rate": ["0.0005", "0.002"]},
        {"train.batch_size": ["64", "256"]},
        {"model.activation": ["gelu"]},
        {"model.input_dropout": ["0.1", "0.2"], "train.batch_size": ["64"]},  # leaders of the grids above, together
        {"model.input_dropout": ["0.1", "0.2"], "train.optimizer.weight_decay": ["0.01", "0.03", "0.1"]},
        # the leader of the grids above with more weight decay, and with GELU
        {"model.input_dropout": ["0.1"], "train.optimizer.weight_decay": ["0.1", "0.3"], "model.activation": ["gelu"]},
        {"model.input_dropout": ["0.1"], "train.optimizer.weight_decay": ["0.3"]},
    ]
]
KEYS = list(dict.fromkeys(key for grid in GRIDS for key in grid))
TABLE = Path("reports/grid.csv")


def dvc(*arguments: str) -> str:
    return subprocess.run([sys.executable, "-m", "dvc", *arguments], capture_output=True, text=True, check=True).stdout


def main(rerun: bool) -> None:
    params = yaml.safe_load(Path("params.yaml").read_text())
    defaults = {key: default(params, key) for key in KEYS}
    datasets = params["datasets"]
    metrics = [f"live/{dataset}/metrics.json:val_{name}" for dataset in datasets for name in ("accuracy", "loss")]
    combinations = dict.fromkeys(
        tuple({**defaults, **dict(zip(grid, values, strict=True))}[key] for key in KEYS)
        for grid in GRIDS
        for values in itertools.product(*grid.values())
    )
    results = {} if rerun else measured(combinations, [*KEYS, *metrics])
    for combination in [combination for combination in combinations if combination not in results]:
        settings = [
            override(key, value, defaults)
            for key, value in zip(KEYS, combination, strict=True)
            if value != defaults[key]
        ]
        if settings:  # none: params.yaml's own combination, whose results are the committed run's
            dvc("exp", "run", "--queue", *[argument for setting in settings for argument in ("-S", setting)], "train")
    dvc("queue", "start", "--jobs", "1")
    while re.search(r"\b(Queued|Running)\b", dvc("queue", "status")):
        time.sleep(10)
    for row in csv.DictReader(io.StringIO(dvc("exp", "show", "--csv"))):
        combination = tuple(row[key] for key in KEYS)
        if (row["State"] == "Success" or row["typ"] == "baseline") and combination in combinations:
            results[combination] = [row[metric] for metric in metrics]  # reruns of a combination train the same
    accuracies = [index for index, metric in enumerate(metrics) if metric.endswith("val_accuracy")]
    ranked = sorted(results.items(), key=lambda item: -sum(float(item[1][index]) for index in accuracies))
    with TABLE.open("w", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow([*KEYS, *metrics])
        writer.writerows([*combination, *values] for combination, values in ranked)
    print(TABLE.read_text())


def measured(combinations: dict, header: list[str]) -> dict:
    """The table's rows still in the grids, by combination: none if its columns are not the grids' any more."""
    if not TABLE.exists():
        return {}
    rows = list(csv.reader(TABLE.open()))
    if rows[0] != header:
        return {}
    return {tuple(row[: len(KEYS)]): row[len(KEYS) :] for row in rows[1:] if tuple(row[: len(KEYS)]) in combinations}


def override(key: str, value: str, defaults: dict) -> str:
    """DVC's `-S` for `key`: ~ removes it, + adds it where params.yaml has no such key."""
    if value == "":
        return f"~{key}"
    return f"{'' if defaults[key] else '+'}{key}={value}"


def default(params: dict, key: str) -> str:
    """params.yaml's value of `key` as `dvc exp show --csv` writes it: empty where params.yaml has no such key."""
    try:
        return str(functools.reduce(operator.getitem, key.split("."), params))
    except KeyError:
        return ""


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rerun", action="store_true", help="train every combination again, the table's too")
    main(parser.parse_args().rerun)
