#!/usr/bin/python3
"""Writes the CSV and IDX fixtures that tests/test_data_readers.cpp reads.

Run from anywhere: /usr/bin/python3 tests/data/make_reader_fixtures.py
(standard library only; written with Python 3.11). The bytes are spelled out here, rather than
kept as hand-edited files, because several cases are about exact bytes: CRLF line ends, a last
line without a newline, big-endian headers, gzip. The values are repeated in
test_data_readers.cpp; change both together.
"""
import gzip
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CSV = os.path.join(HERE, "csv")
IDX = os.path.join(HERE, "idx")


def write(folder, name, data):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def gz(data):
    # mtime=0 and no file name in the header: the same bytes on every run.
    return gzip.compress(data, compresslevel=9, mtime=0)


def csv_fixtures():
    # Everything read_csv accepts at once: a UTF-8 byte order mark, a quoted header name with
    # an escaped quote, spaces around cells, quoted numbers, a leading '+', exponents, CRLF and
    # LF line ends, blank lines (empty and spaces only), and a last line without a newline.
    write(CSV, "mixed.csv",
          b'\xef\xbb\xbfa, "b ""2""" ,target\r\n'
          b"1.5, -2 ,0\r\n"
          b"\r\n"
          b'"3.25",+4e-1,"1"\n'
          b"   \n"
          b"-0.125,1E3,2")
    write(CSV, "tabs.tsv", b"x\ty\n1\t2\n3\t4\n")
    write(CSV, "header_only.csv", b"a,b\n")
    write(CSV, "empty.csv", b"")
    write(CSV, "blank_lines.csv", b"\n  \n\r\n")
    # One error each; the line and column in the message are 1-based.
    write(CSV, "missing_value.csv", b"a,b,target\n1,2,0\n3,,1\n")  # line 3, column 3
    write(CSV, "not_a_number.csv", b"a,b,target\n1,2,0\n3, abc ,1\n")  # line 3, column 4
    write(CSV, "partial_number.csv", b"a,b\n1,2.5x\n")  # line 2, column 3
    write(CSV, "ragged_short.csv", b"a,b,target\n1,2,0\n3,4\n")  # line 3, column 4
    write(CSV, "ragged_long.csv", b"a,b,target\n\n1,2,0,7\n")  # line 3, column 7
    write(CSV, "unterminated_quote.csv", b'a,b\n1,"2\n')  # line 2, column 3
    write(CSV, "after_quote.csv", b'a,b\n1,"2"x\n')  # line 2, column 6
    write(CSV, "out_of_range.csv", b"a\n1e999\n")  # line 2, column 1
    # float32's largest values read, 1e39 does not (line 5, column 3); float64 reads it.
    write(CSV, "float32_overflow.csv",
          b"a,b,target\n1,3.4028234e38,0\n3,-3.4e38,1\n\n5,1e39,0\n")
    # Read as numbers, refused for training at their file line: nan at line 5 (column "b"),
    # then an inf; a -inf target, the only one.
    write(CSV, "nan_cell.csv", b"a,b,target\n1,2,0\n3,4,1\n\n5,nan,0\n6,inf,1\n")
    write(CSV, "inf_target.csv", b"a,target\n1,0\n2,-inf\n")
    # Control bytes and a byte that is not UTF-8 in a cell: line 3, column 1, escaped in
    # the message.
    write(CSV, "binary_cell.csv", b"a,target\n1,0\n\x01\x1b[31mred\xff,1\n")


def idx(type_code, dims, payload):
    """An IDX file: magic 00 00 type ndim, big-endian uint32 extents, then the payload."""
    header = bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)
    return header + payload


def idx_fixtures():
    pixels = bytes([0, 1, 2, 253, 254, 255])
    images = idx(0x08, [2, 3], pixels)
    write(IDX, "ubyte_2x3.idx", images)
    write(IDX, "ubyte_2x3.idx.gz", gz(images))
    # Two gzip members back to back (what `cat a.gz b.gz` gives) inflate to one IDX file.
    write(IDX, "ubyte_2x3_two_members.idx.gz", gz(images[:7]) + gz(images[7:]))
    write(IDX, "int8.idx", idx(0x09, [4], struct.pack(">4b", -128, -1, 0, 127)))
    write(IDX, "int16.idx", idx(0x0B, [2], struct.pack(">2h", -300, 5)))
    write(IDX, "int32.idx", idx(0x0C, [2], struct.pack(">2i", -70000, 123456789)))
    write(IDX, "float32.idx", idx(0x0D, [2, 1], struct.pack(">2f", 1.5, -0.25)))
    write(IDX, "float64.idx", idx(0x0E, [1, 2], struct.pack(">2d", 0.1, -1e300)))
    write(IDX, "rank3.idx", idx(0x08, [2, 2, 2], bytes(range(8))))
    # Broken files, one fault each.
    write(IDX, "bad_magic.idx", bytes([0x12, 0x34, 0x08, 0x01, 0, 0, 0, 1, 7]))
    write(IDX, "unknown_type.idx", idx(0x07, [1], b"\x00"))
    write(IDX, "short_header.idx", bytes([0, 0, 0x08, 3, 0, 0]))  # 3 dims need 16 bytes
    write(IDX, "truncated.idx", idx(0x08, [2, 3], pixels[:4]))  # 6 bytes expected, 4 found
    write(IDX, "trailing.idx", idx(0x08, [2, 3], pixels + b"\x00"))  # 7 found
    write(IDX, "truncated.idx.gz", gz(images)[:-12])  # the deflate data is cut off
    write(IDX, "corrupt.idx.gz", gz(images)[:10] + b"\xff" * 20)
    write(IDX, "tiny.idx", b"\x00\x00")

    # A miniature Fashion-MNIST directory: three 2x2 images, gzip-compressed images and plain
    # labels (load_fashion_mnist takes either form of each file).
    fashion = os.path.join(IDX, "fashion")
    write(fashion, "train-images-idx3-ubyte.gz",
          gz(idx(0x08, [3, 2, 2], bytes([0, 255, 51, 102, 255, 0, 0, 0, 1, 2, 3, 4]))))
    write(fashion, "train-labels-idx1-ubyte", idx(0x08, [3], bytes([9, 0, 3])))
    # Labels that do not match the images: 2 labels for 3 images, and a label 10.
    bad = os.path.join(IDX, "fashion_bad")
    write(bad, "train-images-idx3-ubyte", idx(0x08, [3, 2, 2], bytes(12)))
    write(bad, "train-labels-idx1-ubyte", idx(0x08, [2], bytes([1, 2])))
    write(bad, "t10k-images-idx3-ubyte", idx(0x08, [1, 2, 2], bytes(4)))
    write(bad, "t10k-labels-idx1-ubyte", idx(0x08, [1], bytes([10])))


if __name__ == "__main__":
    csv_fixtures()
    idx_fixtures()
