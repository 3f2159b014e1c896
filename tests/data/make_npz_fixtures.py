#!/usr/bin/python3
"""Writes the .npz fixtures that tests/test_npz.cpp reads (and the .npy ones of test_npy.cpp),
with NumPy itself.

Run from anywhere: /usr/bin/python3 tests/data/make_npz_fixtures.py
(written with Debian's python3-numpy 1.24.2 and Python 3.11). The values below are repeated
in test_npz.cpp; change both together.
"""
import io
import os
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def arrays():
    """One array of each kind load_npz converts (dtype, order, rank)."""
    return {
        "w32": np.array([[0.5, -1.25, 3.0], [0.1, -0.0, 1e30]], dtype=np.float32),
        "w64": np.array([0.1, -2.5, 1e-300, np.pi], dtype=np.float64),
        "i64": np.array([-7, 0, 2**40 + 3], dtype=np.int64),
        "flags": np.array([[True, False], [False, True]]),
        # Fortran order: axis 0 varies fastest in the file; load_npz returns C order.
        "fort": np.asfortranarray(np.arange(12, dtype=np.float64).reshape(2, 3, 2)),
        "big": np.array([1.5, -2.0, 1e10], dtype=">f8"),
        "big_i2": np.array([-300, 5], dtype=">i2"),
        "scalar": np.array(2.5, dtype=np.float32),
        "empty": np.zeros((0, 3), dtype=np.float64),
        "int8": np.array([-128, 127], dtype=np.int8),
        "uint16": np.array([65535], dtype=np.uint16),
        "uint64": np.array([2**64 - 1], dtype=np.uint64),
    }


def compressed_arrays():
    a = arrays()
    return {k: a[k] for k in ("w32", "i64", "flags", "fort", "big", "scalar", "empty")}


class Unseekable(io.RawIOBase):
    """A write-only stream: zipfile then writes sizes after the data (a data descriptor)."""

    def __init__(self, path):
        self.f = open(path, "wb")

    def writable(self):
        return True

    def write(self, b):
        return self.f.write(b)

    def close(self):
        self.f.close()
        super().close()


def main():
    np.savez(os.path.join(HERE, "numpy_savez.npz"), **arrays())
    # One array per file, as np.save writes it (test_npy.cpp).
    np.save(os.path.join(HERE, "numpy_save_f64.npy"), arrays()["w64"].reshape(2, 2))
    np.save(os.path.join(HERE, "numpy_save_fortran_f32.npy"),
            np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3) / 4))
    np.savez_compressed(os.path.join(HERE, "numpy_savez_compressed.npz"), **compressed_arrays())

    # Every size and offset in ZIP64 fields (local and central extras, ZIP64 end record and
    # locator), as for archives over 4 GiB: lower zipfile's limit so small ones get them too.
    saved = zipfile.ZIP64_LIMIT
    zipfile.ZIP64_LIMIT = -1
    try:
        np.savez(os.path.join(HERE, "zip64.npz"),
                 a=np.array([1.0, 2.0, 3.0]), b=np.array([[4, 5]], dtype=np.int32))
    finally:
        zipfile.ZIP64_LIMIT = saved

    # npy format versions 2.0 and 3.0 (4-byte header length; 3.0's header is UTF-8), in an
    # archive with a comment after the end record.
    with zipfile.ZipFile(os.path.join(HERE, "npy_versions.npz"), "w") as z:
        for version in ((2, 0), (3, 0)):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.array([version[0], 0.25], dtype="<f8"),
                                      version=version)
            z.writestr("v%d.npy" % version[0], buf.getvalue())
        z.comment = b"written by make_npz_fixtures.py"

    # Written to a stream that cannot seek: local headers carry no sizes.
    s = Unseekable(os.path.join(HERE, "streamed.npz"))
    np.savez(s, s=np.array([7.0, 8.0], dtype=np.float32))
    s.close()

    # A dtype load_npz cannot represent.
    np.savez(os.path.join(HERE, "complex.npz"), z=np.array([1 + 2j], dtype=np.complex64))


if __name__ == "__main__":
    main()
