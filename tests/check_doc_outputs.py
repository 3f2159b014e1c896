#!/usr/bin/env python3
"""Checks that the output a Markdown file shows is what the programs print.

A fenced block preceded by a marker line is an output block:
    <!-- output: build/examples/train_mlp -->        the program's output
    <!-- output: session -->                         lines "$ CMD" run CMD; what follows is its
                                                     output (an interactive session's typed
                                                     input comes from "PROMPT INPUT" lines,
                                                     the prompt given as "prompt=REGEX")
    <!-- output: session prompt=step \\d+/\\d+ > -->   (the prompt is matched with or
                                                     without the space after it)
    <!-- output within 3%: CMD -->                  numbers with a decimal point may differ
                                                     from the text's by up to 3% (a run whose
                                                     last digits follow the CPU's BLAS kernels)
A line "..." (indented or not) stands for any number of lines; every other run of lines must
appear in the output as consecutive lines, the runs in order. Durations ("1.0s", "12.5 s")
are compared as "<time>". The text between numbers and every whole number (counts, shapes,
epochs) must match exactly. A number with a decimal point may differ by 2 in its last printed
digit, or by a millionth of its value (a few float32 roundings): OpenBLAS picks its kernels by
CPU, and each kernel set sums in its own order, so another machine rounds differently.
Commands run through the shell in a scratch folder where `build` is the build folder and
`examples`, `docs` the repository's, so the text's own commands run.

usage: check_doc_outputs.py FILE.md SOURCE_DIR BUILD_DIR [BLOCK_INDEX]
"""
import os
import re
import subprocess
import sys
import tempfile
from decimal import Decimal

MARKER = re.compile(r"^<!-- output(?: within (\d+(?:\.\d+)?)%)?: (.*?) -->$")
DECIMAL = re.compile(r"-?\d+\.\d+(?:[eE][-+]?\d+)?")
DURATION = re.compile(r"\b\d+(\.\d+)? ?s\b")


def output_blocks(path):
    """(line number, marker text, relative tolerance, block lines) for every marked block."""
    lines = open(path, encoding="utf-8").read().split("\n")
    blocks = []
    for i, line in enumerate(lines):
        m = MARKER.match(line)
        if not m:
            continue
        if i + 1 >= len(lines) or not lines[i + 1].startswith("```"):
            sys.exit(f"{path}:{i + 1}: an output marker must be followed by a ``` block")
        end = i + 2
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        relative = Decimal(m.group(1)) / 100 if m.group(1) else Decimal(0)
        blocks.append((i + 1, m.group(2), relative, lines[i + 2:end]))
    return blocks


def normalise(line):
    return DURATION.sub("<time>", line.rstrip())


def decimals_close(want, got, relative):
    """Compared as decimal text, so that 0.4297 against 0.4295 is exactly 2 units apart."""
    a, b = Decimal(want), Decimal(got)
    unit = Decimal(1).scaleb(a.as_tuple().exponent)  # one unit in the last printed digit
    allowed = max(2 * unit, abs(a) * Decimal("1e-6"), abs(a) * relative)
    return abs(a - b) <= allowed


def same_line(want, got, relative):
    """The same text and whole numbers; decimals close (see the module's docstring)."""
    if DECIMAL.split(want) != DECIMAL.split(got):
        return False
    return all(decimals_close(a, b, relative)
               for a, b in zip(DECIMAL.findall(want), DECIMAL.findall(got)))


def run(command, stdin_text, workdir):
    done = subprocess.run(command, shell=True, cwd=workdir, input=stdin_text, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900,
                          env=dict(os.environ, COLUMNS="100"))
    if done.returncode != 0:
        sys.exit(f"'{command}' exited with {done.returncode}:\n{done.stdout}")
    return done.stdout


def echo_input(output, prompt, inputs):
    """What a terminal shows: each prompt followed by the line typed at it."""
    pieces = re.split(f"({prompt} ?)", output)
    shown, typed = [], iter(inputs)
    for piece in pieces:
        shown.append(piece)
        if re.fullmatch(f"{prompt} ?", piece):
            shown.append(next(typed, "") + "\n")
    return "".join(shown)


def expect(block, actual, where, relative):
    """Every run of block lines between '...' lines appears in actual, in order."""
    got = [normalise(line) for line in actual.split("\n")]
    runs, current = [], []
    for line in block:
        if line.strip() == "...":
            runs.append(current)
            current = []
        else:
            current.append(normalise(line))
    runs.append(current)
    at = 0
    for run_lines in (r for r in runs if r):
        found = next((i for i in range(at, len(got) - len(run_lines) + 1)
                      if all(same_line(w, g, relative)
                             for w, g in zip(run_lines, got[i:i + len(run_lines)]))), None)
        if found is None:
            sys.exit(f"{where}: these lines are not in the output (after line {at + 1}):\n  "
                     + "\n  ".join(run_lines) + "\n--- the output was:\n" + actual)
        at = found + len(run_lines)


def sessions(block, prompt):
    """Split a session block into (command, its lines, typed inputs)."""
    result = []
    for line in block:
        if line.startswith("$ "):
            result.append([line[2:], [], []])
        elif not result:
            sys.exit("a session block must start with a '$ ' line")
        else:
            result[-1][1].append(line)
            m = re.match(f"^({prompt}) ?(.*)$", line) if prompt else None
            if m and m.group(2):
                result[-1][2].append(m.group(2))
    return result


def main():
    md, source, build = sys.argv[1:4]
    only = int(sys.argv[4]) if len(sys.argv) > 4 else None
    blocks = output_blocks(md)
    if not blocks:
        sys.exit(f"{md}: no output markers")
    with tempfile.TemporaryDirectory() as workdir:
        os.symlink(os.path.abspath(build), os.path.join(workdir, "build"))
        for folder in ("examples", "docs"):
            os.symlink(os.path.join(os.path.abspath(source), folder),
                       os.path.join(workdir, folder))
        for index, (line_no, marker, relative, block) in enumerate(blocks):
            if only is not None and index != only:
                continue
            where = f"{md}:{line_no}"
            if marker.startswith("session"):
                m = re.match(r"session(?: prompt=(.*))?$", marker)
                prompt = m.group(1)
                for command, lines, inputs in sessions(block, prompt):
                    out = run(command, "\n".join(inputs) + "\n" if inputs else "", workdir)
                    if prompt:
                        out = echo_input(out, prompt, inputs)
                    expect(lines, out, f"{where} ($ {command})", relative)
            else:
                expect(block, run(marker, "", workdir), f"{where} ({marker})", relative)
            print(f"{where}: the output shown is what '{marker}' prints")


if __name__ == "__main__":
    main()
