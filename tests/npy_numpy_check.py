#!/usr/bin/python3
"""Checks with NumPy that the files tapegrad's save_npy wrote read back as written.

Usage: npy_numpy_check.py PREFIX

PREFIX_f32.npy and PREFIX_f64.npy are what `test_npy "[.numpy]"` writes (the same values as
sample_f32 and sample_f64 in test_npy.cpp). Exits non-zero, naming every difference, when
numpy.load sees another dtype, shape or value, or when the bytes differ from np.save's.
"""
import io

import numpy as np

from numpy_check_report import report, run


def expected():
    f32 = np.array([0.5, -1.25, np.inf, -0.0, np.finfo(np.float32).smallest_subnormal, 1e30],
                   dtype=np.float32).reshape(2, 3)
    f64 = (np.arange(6, dtype=np.float64) / 7.0).reshape(2, 1, 3)
    return {"f32": f32, "f64": f64}


def main(prefix):
    errors = []
    for name, want in expected().items():
        path = "%s_%s.npy" % (prefix, name)
        got = np.load(path)
        if got.dtype != want.dtype or got.shape != want.shape:
            errors.append("%s: got %s %s, expected %s %s"
                          % (path, got.dtype, got.shape, want.dtype, want.shape))
        elif got.tobytes() != want.tobytes():
            errors.append("%s: values differ:\n%r\nexpected\n%r" % (path, got, want))
        buf = io.BytesIO()
        np.save(buf, want)
        with open(path, "rb") as f:
            if f.read() != buf.getvalue() and hasattr(np.lib.format, "GROWTH_AXIS_MAX_DIGITS"):
                errors.append("%s: bytes differ from np.save's" % path)
    return report("npy_numpy_check", errors,
                  "%s_*.npy read back as written (numpy %s)" % (prefix, np.__version__))


if __name__ == "__main__":
    run(main, __doc__)
