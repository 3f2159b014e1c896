#!/usr/bin/python3
"""Checks with NumPy that a file written by tapegrad's save_npz reads back as written.

Usage: npz_numpy_check.py SAMPLE.npz

SAMPLE.npz is what `test_npz "[.numpy]"` writes to $TAPEGRAD_NPZ_SAMPLE (see the test
"save_npz writes a sample for npz_numpy_check.py" in test_npz.cpp, which holds the same
values). Exits non-zero, naming every difference, when numpy.load sees other names, dtypes,
shapes or values, when an entry is not stored with a correct CRC, or when an entry's bytes
differ from what NumPy's own np.save writes for the same array.
"""
import io
import zipfile

import numpy as np

from numpy_check_report import report, run


def expected():
    # The same formulas as the C++ test; every value is exact in its dtype.
    return {
        "fc1.weight": (np.arange(12, dtype=np.float64) * 0.25 - 1).astype(np.float32).reshape(3, 4),
        "fc1.bias": np.array([0.5, -0.5, 1e-3, 7.0], dtype=np.float32),
        "scale": np.array(np.pi, dtype=np.float64),
        "special": np.array([0.0, -0.0, np.inf, -np.inf, np.nan,
                             np.finfo(np.float32).smallest_subnormal], dtype=np.float32),
        "empty": np.zeros((0, 3), dtype=np.float64),
        "cube": (np.arange(24, dtype=np.float64) / 7.0).reshape(2, 3, 4),
        "rank4": (np.arange(4, dtype=np.float32) - 1.5).reshape(1, 2, 1, 2),
        "unicode.\u00e9": np.array([42.0], dtype=np.float64),
    }


def same_bits(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def main(path):
    errors = []
    want = expected()
    with np.load(path) as npz:
        got_names = sorted(npz.files)
        if got_names != sorted(want):
            errors.append("names: got %s, expected %s" % (got_names, sorted(want)))
        for name in sorted(set(got_names) & set(want)):
            a, w = npz[name], want[name]
            if a.dtype != w.dtype or a.shape != w.shape:
                errors.append("%s: got %s %s, expected %s %s"
                              % (name, a.dtype, a.shape, w.dtype, w.shape))
            elif not same_bits(a, w):
                errors.append("%s: values differ:\n%r\nexpected\n%r" % (name, a, w))

    with zipfile.ZipFile(path) as z:
        bad = z.testzip()  # reads every entry and checks its CRC-32
        if bad is not None:
            errors.append("entry %s fails its CRC check" % bad)
        for info in z.infolist():
            if info.compress_type != zipfile.ZIP_STORED:
                errors.append("%s: compression %d, expected stored" % (info.filename,
                                                                      info.compress_type))
            name = info.filename[:-4]
            if name not in want:
                continue
            # Byte for byte what np.save writes, header padding included (the padding for a
            # growing first axis appeared in NumPy 1.23; older versions pad differently).
            if hasattr(np.lib.format, "GROWTH_AXIS_MAX_DIGITS"):
                buf = io.BytesIO()
                np.lib.format.write_array(buf, want[name])
                if z.read(info) != buf.getvalue():
                    errors.append("%s: bytes differ from np.save's:\n%r\n%r"
                                  % (info.filename, z.read(info)[:128], buf.getvalue()[:128]))
            else:
                print("npz_numpy_check: numpy %s pads headers differently; bytes not compared"
                      % np.__version__)

    return report("npz_numpy_check", errors,
                  "%s reads back as written (numpy %s)" % (path, np.__version__))


if __name__ == "__main__":
    run(main, __doc__)
