#!/usr/bin/env python3
"""A stepper page (tapegrad step NAME --html, or write_html) in a real browser.

Loads the page in headless Chromium (its own --dump-dom: no driver, no npm package) and
compares what the page shows with the terminal's transcript of the same backward pass:
every step's current node, the gradient that arrived and what each input received, the forward
values and the final gradients, number by number. It also steps with the keyboard (the page's
&keys= hook sends the keys to its own keydown handler), clicks a box (&click=), checks that
no script error happened (the page's window.onerror hook and Chromium's console log), and
that the file names no http:// or https:// address.

  html_stepper_check.py walkthrough --tapegrad BIN --name NAME --work DIR [--no-dot]
  html_stepper_check.py page --html FILE --transcript FILE --work DIR

Standard library only. Timeouts only stop a hung browser; nothing waits for a clock.
"""
import argparse
import html.parser
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--enable-logging=stderr", "--v=0"]
HANG_TIMEOUT = 300  # seconds: a safety net against a hung browser, far above a slow start
MAX_PAGE_BYTES = 300 * 1024  # "a few hundred KB at most" for a walkthrough page
NUMBER = re.compile(r"-?(?:\d+\.?\d*(?:e[+-]?\d+)?|nan|inf)")

failures = []


def fail(message):
    failures.append(message)
    print("FAIL: " + message)


# ---- the page, as the browser left it ----

class Element:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    def classes(self):
        return (self.attrs.get("class") or "").split()

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def walk(self):
        for c in self.children:
            if isinstance(c, Element):
                yield c
                yield from c.walk()

    def find_all(self, pred):
        return [e for e in self.walk() if pred(e)]

    def find(self, pred):
        found = self.find_all(pred)
        return found[0] if found else None

    def nums(self):
        """The numbers the element shows, in order: every .num inside it."""
        return [parse_number(e.text()) for e in self.find_all(lambda e: "num" in e.classes())]


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class TreeBuilder(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Element("#root", {}, None)
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        e = Element(tag, attrs, self.cur)
        self.cur.children.append(e)
        if tag not in VOID:
            self.cur = e

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Element(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        e = self.cur
        while e is not None and e.tag != tag:
            e = e.parent
        if e is not None and e.parent is not None:
            self.cur = e.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def parse_number(s):
    return float(s.strip())  # float() reads nan, inf and -inf too


class Summary(list):
    """Numbers of a large tensor's summary: min, max and mean, printed with 4 digits."""


def numbers_in(text):
    """The numbers of a terminal value: in full, or "<shape [64, 10]: min a, max b, mean c>"."""
    summary = re.search(r"<shape \[[^\]]*\]: (.*?)>", text)
    if summary:
        return Summary(float(x) for x in NUMBER.findall(summary.group(1)))
    return [float(x) for x in NUMBER.findall(text)]


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("html_stepper_check: no chromium on PATH (scripts/install-deps.sh installs it)")


def load(page, fragment, work, budget=5000):
    """The page's DOM after loading page#fragment and budget ms of the browser's virtual time
    (timers run in it, so no wall clock counts)."""
    profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=work)
    try:
        r = subprocess.run([chromium()] + CHROMIUM_FLAGS +
                           ["--user-data-dir=" + profile, f"--virtual-time-budget={budget}", "--dump-dom",
                            "file://" + os.path.abspath(page) + "#" + fragment],
                           capture_output=True, text=True, timeout=HANG_TIMEOUT)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if r.returncode != 0:
        fail(f"chromium exited with {r.returncode} on #{fragment}: {r.stderr[-2000:]}")
    # Chromium logs page messages as CONSOLE lines, uncaught exceptions as "Uncaught ...".
    console = [l for l in r.stderr.splitlines() if "CONSOLE" in l or "Uncaught" in l]
    for line in console:
        fail(f"#{fragment}: the browser logged: {line}")
    tree = TreeBuilder()
    tree.feed(r.stdout)
    body = tree.root.find(lambda e: e.tag == "body")
    if body is None:
        fail(f"#{fragment}: no <body> in the dumped page")
        return Element("body", {}, None)
    if body.attrs.get("data-ready") != "yes":
        fail(f"#{fragment}: the page's script did not finish (data-ready={body.attrs.get('data-ready')})")
    if body.attrs.get("data-errors"):
        fail(f"#{fragment}: script errors: {body.attrs['data-errors']}")
    return body


# ---- the terminal's transcript (Stepper::transcript, tapegrad step NAME --all) ----

def parse_transcript(text):
    lines = text.splitlines()
    t = {"listing": {}, "steps_forward": [], "steps": [], "grads": {}}
    i = 0
    while i < len(lines) and not lines[i].startswith("forward: the tape recorded"):
        i += 1
    if i == len(lines):
        sys.exit("html_stepper_check: no transcript in the terminal output")
    i += 2  # the listing's header
    while i < len(lines) and lines[i].strip():
        fields = re.split(r"\s{2,}", lines[i].strip())
        t["listing"][fields[1]] = numbers_in(fields[-1])
        if not fields[2].startswith("leaf"):  # made by an op: a forward step
            t["steps_forward"].append(fields[1])
        i += 1
    step = None
    for line in lines[i:]:
        m = re.match(r"^backward (\d+)/(\d+) · node (\d+): (\S+) = ", line)
        if m:
            step = {"name": m.group(4), "grad_in": None, "receives": []}
            t["steps"].append(step)
            continue
        if line.startswith("gradients of the leaves"):
            step = "grads"
            continue
        if step == "grads":
            fields = re.split(r"\s{2,}", line.strip())
            if fields and fields[0] != "name" and len(fields) >= 4:
                t["grads"][fields[0]] = (numbers_in(fields[2]), numbers_in(fields[3]))
            continue
        if step is None:
            continue
        m = re.match(r"^\s+gradient in\s+∂\S+/∂\S+ = (.*)$", line)
        if m:
            step["grad_in"] = numbers_in(m.group(1))
            continue
        m = re.match(r"^\s+→ (\S+) \((.*?)\)\s{2,}(.*)$", line)
        if m:
            what = re.sub(r"\(summed over the broadcast axes to shape \[[^\]]*\]\)", "", m.group(3))
            what = "" if what.startswith("nothing") else what
            step["receives"].append((m.group(1), numbers_in(what)))
    return t


# ---- comparisons ----

def same_numbers(page, term):
    # Summaries print 4 significant digits (a relative difference up to 5e-4), values 6. A table
    # on the page where the terminal summarises (17 to 64 numbers) is compared by its summary.
    if isinstance(term, Summary) and len(page) != 3 and page and len(term) == 3:
        scale = max(abs(x) for x in page)
        mean = sum(page) / len(page)
        return all(math.isclose(a, b, rel_tol=5e-4, abs_tol=5e-4 * scale)
                   for a, b in zip([min(page), max(page), mean], term))
    tol = 5e-4 if isinstance(term, Summary) else 1e-5
    return len(page) == len(term) and all(
        (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=tol, abs_tol=0)
        for a, b in zip(page, term))


def check_panel(panel, k, t, where):
    """The panel shown at step k (1-based) against the transcript."""
    nf, nb = len(t["steps_forward"]), len(t["steps"])
    heading = panel.find(lambda e: e.attrs.get("data-fact") == "heading")
    heading = heading.text() if heading else ""
    if k <= nf:
        name = t["steps_forward"][k - 1]
        if not heading.startswith(name + " = "):
            fail(f"{where}: forward step {k} shows '{heading}', the transcript's node is {name}")
        result = panel.find(lambda e: e.attrs.get("data-fact") == "result")
        got = result.nums() if result else []
        if not same_numbers(got, t["listing"][name]):
            fail(f"{where}: forward step {k}: {name} = {got} on the page, {t['listing'][name]} in the listing")
        return
    if k <= nf + nb:
        st = t["steps"][k - nf - 1]
        if not heading.startswith(st["name"] + " = "):
            fail(f"{where}: backward step {k - nf} shows '{heading}', the transcript's node is {st['name']}")
        grad_in = panel.find(lambda e: e.attrs.get("data-fact") == "grad-in")
        got = grad_in.nums() if grad_in else []
        if not same_numbers(got, st["grad_in"] or []):
            fail(f"{where}: backward step {k - nf}: gradient in {got} on the page, {st['grad_in']} in the transcript")
        rows = panel.find_all(lambda e: e.tag == "li" and "data-slot" in e.attrs)
        page_rows = []
        for li in rows:
            who = li.find(lambda e: "who" in e.classes())
            what = li.find(lambda e: "what" in e.classes())
            m = re.match(r"→ (\S+) \(", who.text() if who else "")
            page_rows.append((m.group(1) if m else "?", what.nums() if what else []))
        if [r[0] for r in page_rows] != [r[0] for r in st["receives"]]:
            fail(f"{where}: backward step {k - nf}: inputs {[r[0] for r in page_rows]} on the page, "
                 f"{[r[0] for r in st['receives']]} in the transcript")
        for (pn, pv), (tn, tv) in zip(page_rows, st["receives"]):
            if not same_numbers(pv, tv):
                fail(f"{where}: backward step {k - nf}: {pn} receives {pv} on the page, {tv} in the transcript")
        return
    check_final(panel, t, where + ": the end")


def check_final(root, t, where):
    table = root.find(lambda e: e.attrs.get("data-fact") == "final-grads")
    if table is None:
        fail(f"{where}: no table of final gradients")
        return
    seen = []
    for tr in table.find_all(lambda e: e.tag == "tr" and "data-name" in e.attrs):
        name = tr.attrs["data-name"]
        seen.append(name)
        value = tr.find(lambda e: "value" in e.classes())
        grad = tr.find(lambda e: "gradient" in e.classes())
        want = t["grads"].get(name)
        got = (value.nums() if value else [], grad.nums() if grad else [])
        if want is None or not (same_numbers(got[0], want[0]) and same_numbers(got[1], want[1])):
            fail(f"{where}: {name}: value and gradient {got} on the page, {want} in the transcript")
    if sorted(seen) != sorted(t["grads"]):
        fail(f"{where}: final gradients of {seen} on the page, of {list(t['grads'])} in the transcript")


def check_page(page, transcript_text, work, expect_layout=None, gradcheck=False):
    t = parse_transcript(transcript_text)
    text = open(page, encoding="utf-8").read()
    for scheme in ("http://", "https://"):
        if scheme in text:
            fail(f"{page}: names an address: {scheme} at offset {text.index(scheme)}")
    size = os.path.getsize(page)
    print(f"{page}: {size} bytes")
    if size > MAX_PAGE_BYTES:
        fail(f"{page}: {size} bytes, more than {MAX_PAGE_BYTES}")

    # Every step at once: the page renders each one into #test-dump (&dump=all).
    body = load(page, "dump=all", work)
    # Its steps: the forward nodes (the listing's tensors an op made), the backward steps, the end.
    dump = body.find(lambda e: e.attrs.get("id") == "test-dump")
    panels = dump.find_all(lambda e: "data-step" in e.attrs) if dump else []
    nf, nb = len(t["steps_forward"]), len(t["steps"])
    if len(panels) != nf + nb + 1:
        fail(f"{page}: {len(panels)} steps on the page, {nf} forward + {nb} backward + the end in the transcript")
        return
    for p in panels:
        check_panel(p, int(p.attrs["data-step"]), t, page + " (dump)")
    check_final(body.find(lambda e: e.attrs.get("id") == "final") or body, t, page + " (final section)")
    if expect_layout and body.attrs.get("data-layout") != expect_layout:
        fail(f"{page}: laid out by {body.attrs.get('data-layout')}, expected {expect_layout}")
    if gradcheck:
        gc = body.find(lambda e: e.attrs.get("data-fact") == "gradcheck")
        rows = gc.find_all(lambda e: e.tag == "tr")[1:] if gc else []
        if not rows or any("ok" not in r.text() for r in rows):
            fail(f"{page}: the gradient check table is missing or not all ok")
        for r in rows:  # each analytic figure is that element of a final gradient
            cells = r.find_all(lambda e: e.tag == "td")
            name, analytic = cells[0].text(), cells[2].nums()[0]
            if not any(math.isclose(analytic, g, rel_tol=1e-5) for g in t["grads"].get(name, ([], []))[1]):
                fail(f"{page}: gradcheck's analytic {analytic} for {name} is none of its final gradients")

    # Single moments from the address, as a teacher would link them.
    total = nf + nb + 1
    for k in sorted({1, nf, nf + 1, nf + (nb + 1) // 2, nf + nb, total}):
        body = load(page, f"step={k}", work)
        if body.attrs.get("data-step") != str(k):
            fail(f"{page}#step={k}: the page is at step {body.attrs.get('data-step')}")
        panel = body.find(lambda e: e.attrs.get("id") == "panel")
        check_panel(panel, k, t, f"{page}#step={k}")
        want = (t["steps_forward"][k - 1] if k <= nf else t["steps"][k - nf - 1]["name"] if k <= nf + nb else "")
        if body.attrs.get("data-current", "") != want:
            fail(f"{page}#step={k}: the current node is '{body.attrs.get('data-current')}', expected '{want}'")
        current = body.find_all(lambda e: e.tag == "g" and "current" in e.classes())
        if [g.attrs.get("data-name") for g in current] != ([want] if k > nf and k <= nf + nb else []):
            fail(f"{page}#step={k}: boxes marked current: {[g.attrs.get('data-name') for g in current]}")

    # The keyboard: the keys go through the page's own keydown handler.
    for start, keys, end in ((1, "ArrowRight,ArrowRight", 3), (nf + 2, "ArrowLeft", nf + 1),
                             (2, "End,ArrowLeft", total - 1), (total, "Home,ArrowRight", 2),
                             (1, "ArrowLeft", 1), (total, "ArrowRight", total)):
        body = load(page, f"step={start}&keys={keys}", work)
        if body.attrs.get("data-step") != str(end):
            fail(f"{page}#step={start}, keys {keys}: at step {body.attrs.get('data-step')}, expected {end}")
        elif body.attrs.get("data-hash") != f"#step={end}":
            fail(f"{page}#step={start}, keys {keys}: the address ends in {body.attrs.get('data-hash')}")
        else:
            check_panel(body.find(lambda e: e.attrs.get("id") == "panel"), end, t,
                        f"{page}#step={start}&keys={keys}")

    # Play (Space) steps once a second, in the browser's virtual time, and stops at the end.
    body = load(page, "step=1&keys=%20", work, budget=1000 * (total + 5))
    if body.attrs.get("data-step") != str(total) or body.attrs.get("data-playing") != "no":
        fail(f"{page}: played from step 1 to step {body.attrs.get('data-step')} of {total}, "
             f"playing: {body.attrs.get('data-playing')}")
    # Part way: moved on and still playing. (Where exactly varies by a step: the budget's
    # virtual time does not start exactly when the page's script does.)
    body = load(page, "step=1&keys=%20", work, budget=2500)
    if not 1 < int(body.attrs.get("data-step", "0")) < total or body.attrs.get("data-playing") != "yes":
        fail(f"{page}: 2.5 s into play at step {body.attrs.get('data-step')} of {total}, "
             f"playing: {body.attrs.get('data-playing')}")

    # A click on a parameter's box at the end shows its final gradient.
    name = sorted(t["grads"])[0]
    body = load(page, f"step={total}&click={name}", work)
    detail = body.find(lambda e: e.attrs.get("data-fact") == "detail-grad")
    if detail is None or not same_numbers(detail.nums(), t["grads"][name][1]):
        fail(f"{page}: a click on {name} shows {detail.nums() if detail else None}, "
             f"its final gradient is {t['grads'][name][1]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["walkthrough", "page"])
    ap.add_argument("--tapegrad")
    ap.add_argument("--name")
    ap.add_argument("--no-dot", action="store_true", help="run tapegrad without Graphviz on PATH")
    ap.add_argument("--html")
    ap.add_argument("--transcript")
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    if a.mode == "walkthrough":
        env = dict(os.environ)
        if a.no_dot:
            env["PATH"] = a.work  # no dot here: the page is laid out without Graphviz
        page = os.path.join(a.work, f"step_{a.name}.html")
        out = subprocess.run([a.tapegrad, "step", a.name, "--html", page], capture_output=True, text=True,
                             env=env, timeout=HANG_TIMEOUT)
        if out.returncode != 0:
            sys.exit(f"tapegrad step {a.name} --html failed: {out.stdout}{out.stderr}")
        layout = "simple" if a.no_dot else ("graphviz" if shutil.which("dot") else "simple")
        if ("Graphviz's dot" in out.stdout) != (layout == "graphviz"):
            fail(f"tapegrad says: {out.stdout.strip().splitlines()[-1]}, expected the {layout} layout")
        transcript = subprocess.run([a.tapegrad, "step", a.name, "--all"], capture_output=True, text=True,
                                    check=True, timeout=HANG_TIMEOUT).stdout
        check_page(page, transcript, a.work, expect_layout=layout, gradcheck=True)
    else:
        check_page(a.html, open(a.transcript, encoding="utf-8").read(), a.work)
    if failures:
        print(f"{len(failures)} failure(s)")
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
