"""The search for the default recipe: a grid of experiments queued with DVC and judged on the validation set only.

Run from the project root after `make`, with nothing uncommitted: `python -m bench.grid` (about 2.5 minutes per
combination on 2 CPU cores). Queues every combination of each grid in GRIDS with `dvc exp run --queue`, for the
train stages only (the test set stays untouched), runs the queue one experiment at a time, and writes
reports/grid.csv from `dvc exp show --csv`: each combination's last-epoch validation accuracy and loss per
dataset, best first. Combinations already run come back from DVC's run-cache in seconds.
"""

import csv
import functools
import io
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
    ]
]
KEYS = list(dict.fromkeys(key for grid in GRIDS for key in grid))
TABLE = Path("reports/grid.csv")


def dvc(*arguments: str) -> str:
    return subprocess.run([sys.executable, "-m", "dvc", *arguments], capture_output=True, text=True, check=True).stdout


def main() -> None:
    params = yaml.safe_load(Path("params.yaml").read_text())
    defaults = {key: default(params, key) for key in KEYS}
    for grid in GRIDS:
        settings = [argument for key, values in grid.items() for argument in ("-S", override(key, values, defaults))]
        dvc("exp", "run", "--queue", *settings, "train")
    dvc("queue", "start", "--jobs", "1")
    while re.search(r"\b(Queued|Running)\b", dvc("queue", "status")):
        time.sleep(10)
    datasets = params["datasets"]
    metrics = [f"live/{dataset}/metrics.json:val_{name}" for dataset in datasets for name in ("accuracy", "loss")]
    results = {}
    for row in csv.DictReader(io.StringIO(dvc("exp", "show", "--csv"))):
        combination = tuple(row[key] for key in KEYS)
        if row["State"] == "Success" and any(in_grid(row, grid, defaults) for grid in GRIDS):
            results[combination] = [row[metric] for metric in metrics]  # reruns of a combination train the same
    accuracies = [index for index, metric in enumerate(metrics) if metric.endswith("val_accuracy")]
    ranked = sorted(results.items(), key=lambda item: -sum(float(item[1][index]) for index in accuracies))
    with TABLE.open("w", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow([*KEYS, *metrics])
        writer.writerows([*combination, *values] for combination, values in ranked)
    print(TABLE.read_text())


def override(key: str, values: list[str], defaults: dict) -> str:
    """DVC's `-S` for `key`: ~ removes it, + adds it where params.yaml has no such key."""
    if values == [""]:
        return f"~{key}"
    return f"{'' if defaults[key] else '+'}{key}={','.join(values)}"


def default(params: dict, key: str) -> str:
    """params.yaml's value of `key` as `dvc exp show --csv` writes it: empty where params.yaml has no such key."""
    try:
        return str(functools.reduce(operator.getitem, key.split("."), params))
    except KeyError:
        return ""


def in_grid(row: dict, grid: dict, defaults: dict) -> bool:
    """Whether the experiment is one of the grid's: the grid's values for its keys, params.yaml's for the others."""
    return all(row[key] in grid.get(key, [defaults[key]]) for key in KEYS)


if __name__ == "__main__":
    main()
