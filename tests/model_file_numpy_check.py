#!/usr/bin/python3
"""Checks with NumPy alone that a model file of `tapegrad train --save` says all a prediction needs.

Usage: model_file_numpy_check.py TAPEGRAD MODEL.npz DATA.csv

MODEL.npz must hold a linear model (`--model linear`). Reads the description and the arrays
with numpy.load, predicts every row of DATA.csv from them (features by name, standardised,
x @ W.T + b, the target's scaling undone, or the class label of the largest logit), and compares
with what `TAPEGRAD predict` writes for the same file. Exits non-zero naming what differs.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np


def numpy_predictions(model_path, data_path):
    with np.load(model_path) as f:
        d = json.loads(f["_tapegrad.model"].tobytes())
        arrays = {k: f[k] for k in f.files}
    assert d["format"] == "tapegrad model" and d["format_version"] == 1, d
    assert d["model"] == "linear", "this check knows linear models only: " + d["model"]
    assert arrays["0.weight"].dtype == np.float32, arrays["0.weight"].dtype
    with open(data_path) as f:
        header = f.readline().strip().split(",")
    table = np.loadtxt(data_path, delimiter=",", skiprows=1, ndmin=2)
    x = table[:, [header.index(name) for name in d["features"]]]
    if d["feature_scaler"] == "standard":
        x = (x - arrays["_tapegrad.feature_scaler.mean"]) / arrays["_tapegrad.feature_scaler.scale"]
    out = x @ arrays["0.weight"].T.astype(np.float64) + arrays["0.bias"]
    if d["task"] == "regress":
        if d["target_scaler"] == "standard":
            out = out * arrays["_tapegrad.target_scaler.scale"] + arrays["_tapegrad.target_scaler.mean"]
        return d["target"], out[:, 0]
    classes = np.array(d["classes"])
    index = (out[:, 0] > 0).astype(int) if out.shape[1] == 1 else out.argmax(axis=1)
    return d["target"], classes[index]


def main(tapegrad, model_path, data_path):
    target, expected = numpy_predictions(model_path, data_path)
    with tempfile.TemporaryDirectory() as tmp:
        output = os.path.join(tmp, "predictions.csv")
        subprocess.run([tapegrad, "predict", "--model", model_path, "--data", data_path,
                        "--output", output], check=True)
        with open(output) as f:
            got_header = f.readline().strip()
        got = np.loadtxt(output, skiprows=1, ndmin=1)
    errors = []
    if got_header != target:
        errors.append("header %r, expected %r" % (got_header, target))
    if got.shape != expected.shape:
        errors.append("%d predictions, expected %d" % (got.size, expected.size))
    elif not np.allclose(got, expected, rtol=1e-5, atol=1e-5):
        worst = int(np.argmax(np.abs(got - expected)))
        errors.append("row %d: tapegrad %r, numpy %r" % (worst + 1, got[worst], expected[worst]))
    for e in errors:
        print("model_file_numpy_check: " + e, file=sys.stderr)
    if not errors:
        print("model_file_numpy_check: %d predictions agree, mean %.4f" % (got.size, got.mean()))
    return 1 if errors else 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
