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
A line "..." (indented or not) stands for any number of lines; every other run of lines must
appear in the output as consecutive lines, the runs in order. Durations ("1.0s", "12.5 s")
are compared as "<time>". Commands run through the shell in a scratch folder where `build`
is the build folder and `examples`, `docs` the repository's, so the text's own commands run.

usage: check_doc_outputs.py FILE.md SOURCE_DIR BUILD_DIR [BLOCK_INDEX]
"""
import os
import re
import subprocess
import sys
import tempfile

MARKER = re.compile(r"^<!-- output: (.*?) -->$")
DURATION = re.compile(r"\b\d+(\.\d+)? ?s\b")


def output_blocks(path):
    """(line number, marker text, block lines) for every marked block."""
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
        blocks.append((i + 1, m.group(1), lines[i + 2:end]))
    return blocks


def normalise(line):
    return DURATION.sub("<time>", line.rstrip())


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


def expect(block, actual, where):
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
                      if got[i:i + len(run_lines)] == run_lines), None)
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
        for index, (line_no, marker, block) in enumerate(blocks):
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
                    expect(lines, out, f"{where} ($ {command})")
            else:
                expect(block, run(marker, "", workdir), f"{where} ({marker})")
            print(f"{where}: the output shown is what '{marker}' prints")


if __name__ == "__main__":
    main()
