"""Leave-one-source-out with an ensemble per fold: K models (seeds seed*K .. seed*K+K-1) whose
probabilities are averaged in one ONNX graph (a Mean node over K exported chains), replayed like
`fallwatch evaluate --loso` replays one model. Issue 13 asked for classifiers chosen by that table;
this measures whether averaging seeds beats one.

    PYTHONPATH=. .venv/bin/python bench/loso_ensemble.py 3 evaluate --loso --dataset cache/model-now.npz \\
        --loso-sources urfd_video,gmdcsa24,le2i,hqfsd_openpose,kingston_openpose --epochs 15 --threads 1 \\
        --seeds 0 --out runs/loso-ensemble.json

Everything after K is `fallwatch`'s own command line; only the training of each fold changes.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import edge.training.loso as loso
from edge.cli import main
from edge.training.export import INPUT_NAME, OUTPUT_NAME, keras_to_onnx
from edge.training.train import TrainOptions, train
from edge.training.windowset import WindowSet


def averaged(protos: list[Any]) -> Any:
    """One ONNX model whose `probs` is the mean of the models' `probs`, all fed the same `windows`."""
    from onnx import checker, helper

    nodes, initializers, outputs = [], [], []
    for i, proto in enumerate(protos):

        def renamed(name: str, i: int = i) -> str:
            return name if name in (INPUT_NAME, "") else f"m{i}/{name}"

        for initializer in proto.graph.initializer:
            initializer.name = renamed(initializer.name)
            initializers.append(initializer)
        for node in proto.graph.node:
            node.input[:] = [renamed(n) for n in node.input]
            node.output[:] = [renamed(n) for n in node.output]
            node.name = renamed(node.name)
            nodes.append(node)
        outputs.append(renamed(OUTPUT_NAME))
    nodes.append(helper.make_node("Mean", outputs, [OUTPUT_NAME], name="ensemble_mean"))
    first = protos[0]
    graph = helper.make_graph(nodes, "ensemble", list(first.graph.input), list(first.graph.output), initializers)
    model = helper.make_model(graph, opset_imports=list(first.opset_import), producer_name="bench.loso_ensemble")
    model.ir_version = first.ir_version
    checker.check_model(model, full_check=True)
    return model


def ensemble_trainer(k: int) -> Any:
    """A stand-in for edge.training.loso._trained that trains `k` seeds and averages them."""

    def trained(windows: WindowSet, opts: TrainOptions, folder: Path) -> tuple[Any, float | None]:
        results = [train(windows, dataclasses.replace(opts, seed=opts.seed * k + i)) for i in range(k)]
        folder.mkdir()
        model = loso.replay_model(
            averaged([keras_to_onnx(r.model) for r in results]), results[0].feature_config, folder
        )
        held_out = opts.cross_source or ""
        f1s = [r.metrics["test"]["per_source"].get(held_out, {}).get("fall_f1") for r in results]
        known = [f for f in f1s if f is not None]
        return model, (sum(known) / len(known) if known else None)

    return trained


if __name__ == "__main__":
    loso._trained = ensemble_trainer(int(sys.argv[1]))
    sys.exit(main(sys.argv[2:]))
