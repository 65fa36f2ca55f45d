"""Classifier latency per call at batch 1 and 8: Keras predict / model(x) / tf.function, ONNX Runtime FP32 / FP16.

    .venv/bin/python bench/classifier.py                             # every preset, seeded random weights
    .venv/bin/python bench/classifier.py --model models/fallwatch.keras --presets none   # the shipped model

All runtimes of one model run in the same process, interleaved: each round times a short block of
calls for every runtime (in a rotating order), and the table gives the median over rounds of each
block's mean time per call, so a busy shared machine slows all of them alike. Latency does not depend
on the weights, so presets use seeded random ones. ONNX Runtime runs with 1 intra-op thread (as the
classifier does); TensorFlow with its defaults (all cores). The arithmetic floor is FLOPs per window
(multiply-adds x 2: GRU gates over T steps, Dense layers) divided by this machine's measured
peak single-thread float32 matmul rate (512x512): the time the arithmetic alone would take at BLAS speed.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # numpy's matmul rate, for the floor: one core
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.features import FeatureConfig

BATCHES = (1, 8)
PAUSE_S = 0.05
RUNTIMES = ("keras predict", "keras model(x)", "tf.function", "onnxruntime fp32", "onnxruntime fp16")


def flops_per_window(model: Any) -> int:
    """Multiply-adds x 2 for one window: each GRU's 3 gates over T steps, each Dense layer once (or per step)."""
    frames = int(model.inputs[0].shape[1])
    width, steps, total = int(model.inputs[0].shape[2]), frames, 0
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "GRU":
            units = int(layer.units)
            total += steps * 2 * 3 * units * (width + units)
            width, steps = units, steps if layer.return_sequences else 1
        elif kind == "Dense":
            total += steps * 2 * width * int(layer.units)
            width = int(layer.units)
    return total


def matmul_rate(size: int = 512) -> float:
    """Measured float32 matmul FLOP/s on one thread (numpy's BLAS): the best of three short runs."""
    a = np.random.default_rng(0).normal(size=(size, size)).astype(np.float32)
    rates = []
    for _ in range(3):
        time.sleep(PAUSE_S)
        start = time.perf_counter()
        a @ a
        rates.append(2 * size**3 / (time.perf_counter() - start))
    return max(rates)


def runtimes(model: Any, folder: Path) -> dict[str, Callable[[np.ndarray], Any]]:
    """name -> a function running one batch, for one Keras model (exported to ONNX in `folder`)."""
    import tensorflow as tf

    from edge.classifier.onnxruntime import OnnxRuntimeBackend
    from edge.training.export import fp16_path, keras_to_onnx, save_onnx, to_fp16

    proto = keras_to_onnx(model)
    fp32 = OnnxRuntimeBackend(save_onnx(proto, folder / f"{model.name}.onnx"), threads=1)
    fp16 = OnnxRuntimeBackend(save_onnx(to_fp16(proto), fp16_path(folder / f"{model.name}.onnx")), threads=1)
    compiled = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    return {
        "keras predict": lambda x: model.predict(x, verbose=0),
        "keras model(x)": lambda x: model(x, training=False),
        "tf.function": lambda x: compiled(tf.constant(x)).numpy(),
        "onnxruntime fp32": fp32.run,
        "onnxruntime fp16": fp16.run,
    }


def time_block(fn: Callable[[np.ndarray], Any], x: np.ndarray, budget_s: float) -> list[float]:
    """Seconds of each call in a block of calls lasting about budget_s (at least 3 calls).

    A short pause first lets the previous block's worker threads (TensorFlow's spin-wait) go idle.
    """
    time.sleep(PAUSE_S)
    durations: list[float] = []
    end = time.perf_counter() + budget_s
    while len(durations) < 3 or time.perf_counter() < end:
        start = time.perf_counter()
        fn(x)
        durations.append(time.perf_counter() - start)
    return durations


def bench_model(
    model: Any, rounds: int, budget_s: float, folder: Path, rates: list[float]
) -> dict[int, dict[str, list[float]]]:
    """{batch: {runtime: every call's seconds}} for one model, runtimes interleaved round by round.

    rates: gets a matmul FLOP/s measurement per round (the floor uses the best one of the run).
    """
    fns = runtimes(model, folder)
    shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    result: dict[int, dict[str, list[float]]] = {}
    for batch in BATCHES:
        x = np.random.default_rng(batch).normal(size=(batch, *shape)).astype(np.float32)
        for fn in fns.values():  # warm up: graph tracing, session set-up
            for _ in range(3):
                fn(x)
        times: dict[str, list[float]] = {name: [] for name in fns}
        names = list(fns)
        for r in range(rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                times[name] += time_block(fns[name], x, budget_s)
            rates.append(matmul_rate())
        result[batch] = times
    return result


def fmt_us(seconds: float) -> str:
    us = seconds * 1e6
    return f"{us:,.0f}" if us >= 100 else f"{us:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="all", help="comma-separated preset names, 'all' or 'none'")
    parser.add_argument("--model", type=Path, action="append", default=[], help="a trained .keras model (repeatable)")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds per batch size (median taken)")
    parser.add_argument("--budget", type=float, default=0.15, help="seconds per timed block")
    args = parser.parse_args(argv)

    import keras

    from edge.training.presets import PRESETS, build_model

    features = FeatureConfig()
    names = {"all": list(PRESETS), "none": []}.get(args.presets, args.presets.split(","))
    models = [(n, build_model(n, features.window_frames, features.num_features, seed=0)) for n in names]
    models += [(str(p), keras.models.load_model(p, compile=False)) for p in args.model]
    rates: list[float] = [matmul_rate()]
    header = "| model | params | MFLOP/window | floor µs | batch | " + " | ".join(RUNTIMES) + " | predict / ORT fp32 |"
    rule = "|---|---:|---:|---:|---:|" + "---:|" * len(RUNTIMES) + "---:|"
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, model in models:
            for batch, calls in bench_model(model, args.rounds, args.budget, Path(tmp), rates).items():
                results.append((name, model, batch, calls))
                print(name, batch, {r: fmt_us(statistics.median(calls[r])) for r in RUNTIMES}, file=sys.stderr)
    rate = max(rates)
    print(f"Best float32 matmul rate seen, 1 thread: {rate / 1e9:.1f} GFLOP/s (the floor's divisor). "
          "ONNX Runtime: 1 thread; TensorFlow: default threads.")  # fmt: skip
    tables: dict[str, list[str]] = {"median": [], "min": []}
    for name, model, batch, calls in results:
        flops = flops_per_window(model)
        lead = f"| {name} | {model.count_params():,} | {flops / 1e6:.3f} | {fmt_us(batch * flops / rate)} | {batch} |"
        for stat, fn in (("median", statistics.median), ("min", min)):
            row = {r: fn(calls[r]) for r in RUNTIMES}
            ratio = row["keras predict"] / row["onnxruntime fp32"]
            cells = " | ".join(fmt_us(row[r]) for r in RUNTIMES)
            tables[stat].append(f"{lead} {cells} | {ratio:,.0f}x |")
    for stat, rows in tables.items():
        print(f"\n{stat.capitalize()} time per call, µs, over every call of {args.rounds} interleaved rounds "
              f"(batch 8: one call of 8 windows):\n")  # fmt: skip
        print("\n".join([header, rule, *rows]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
