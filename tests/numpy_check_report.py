"""What the NumPy cross-check scripts share: printing their verdict and their exit status."""
import sys


def report(tool, errors, passed):
    """Prints every error (or the passing line) and returns the exit status."""
    for e in errors:
        print("%s: %s" % (tool, e), file=sys.stderr)
    if not errors:
        print("%s: %s" % (tool, passed))
    return 1 if errors else 0


def run(main, doc):
    """Runs main(ARG) with the one command-line argument, or prints the usage."""
    if len(sys.argv) != 2:
        print(doc, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
