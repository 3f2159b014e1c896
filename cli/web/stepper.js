// The stepper page's script (cli/web/stepper.js), put into every page by tapegrad's write_html.
// It reads the recorded tape and backward pass (the JSON in #tapegrad-data, written by
// cli/src/html_page.cpp), draws the graph once and then shows one step at a time.
// Test hooks, all in the address: #step=N opens step N; &keys=ArrowRight,End presses those keys
// once loaded; &click=NAME clicks that tensor's box; &dump=all writes every step's panel into
// #test-dump. The page writes its state on <body>: data-step, data-phase, data-current,
// data-layout, data-hash (the address's), data-playing, data-ready, and data-errors when a
// script error happened.
(function () {
  'use strict';
  const errors = [];
  function noteError(message) {
    errors.push(String(message));
    document.body.dataset.errors = errors.join(' | ');
  }
  window.addEventListener('error', (e) => noteError(e.message));
  window.addEventListener('unhandledrejection', (e) => noteError(e.reason));

  const D = JSON.parse(document.getElementById('tapegrad-data').textContent);
  const T = D.tensors;
  const nf = D.forward.length;
  const nb = D.steps.length;
  const P = nf + nb + 1; // forward nodes, backward steps, the end
  const M = D.metrics;
  const svg = document.getElementById('graph');
  const SVG = svg.namespaceURI; // the SVG namespace, taken from the page's own <svg>
  const targetName = T[D.target].name;

  // ---- numbers, as the terminal prints them (C's %.6g; 0 for -0) ----
  function toNumber(v) {
    return typeof v === 'string' ? Number(v) : v; // "NaN", "Infinity" travel as strings
  }
  function stripZeros(s) {
    return s.indexOf('.') < 0 ? s : s.replace(/0+$/, '').replace(/\.$/, '');
  }
  function fmt(v) {
    v = toNumber(v);
    if (v === 0) return '0';
    if (Number.isNaN(v)) return 'nan';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    const p = D.digits;
    const e = v.toExponential(p - 1);
    const exp = Number(e.slice(e.indexOf('e') + 1));
    if (exp < -4 || exp >= p) {
      const mant = stripZeros(e.slice(0, e.indexOf('e')));
      return mant + 'e' + (exp < 0 ? '-' : '+') + String(Math.abs(exp)).padStart(2, '0');
    }
    return stripZeros(v.toFixed(p - 1 - exp));
  }
  const shapeText = (shape) => '[' + shape.join(', ') + ']';
  const numel = (shape) => shape.reduce((a, b) => a * b, 1);

  // ---- small DOM helpers ----
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else e.setAttribute(k, v);
    }
    for (const k of kids) e.append(k instanceof Node ? k : String(k));
    return e;
  }
  function sv(tag, attrs) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  }
  const numSpan = (v) => el('span', { class: 'num' }, fmt(v));

  // A colour for v on a scale of ±big: blue below zero, red above, white at zero.
  function colour(v, big) {
    const t = big > 0 ? Math.max(-1, Math.min(1, toNumber(v) / big)) : 0;
    const a = Math.round(255 * (1 - Math.abs(t)));
    return t >= 0 ? `rgb(255,${a},${a})` : `rgb(${a},${a},255)`;
  }
  // A tensor too large for a table: a colour map of its rows (all axes but the last) and
  // columns, at most 64 × 64 cells (larger ones are sampled).
  function colourMap(t, size) {
    const cols = t.shape.length ? t.shape[t.shape.length - 1] : 1;
    const rows = cols ? t.data.length / cols : 0;
    const r = Math.min(rows, 64), c = Math.min(cols, 64);
    const big = t.data.reduce((m, v) => Math.max(m, Math.abs(toNumber(v)) || 0), 0);
    const cell = size / Math.max(r, c, 1);
    const g = sv('svg', { width: c * cell, height: r * cell, class: 'map' });
    for (let i = 0; i < r; i++) {
      for (let j = 0; j < c; j++) {
        const v = t.data[Math.floor((i * rows) / r) * cols + Math.floor((j * cols) / c)];
        g.append(sv('rect', { x: j * cell, y: i * cell, width: cell, height: cell, fill: colour(v, big) }));
      }
    }
    return g;
  }
  function summary(t) {
    const xs = t.data.map(toNumber).filter(Number.isFinite);
    if (!xs.length) return el('span', { class: 'note' }, 'no finite values');
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    return el('span', { class: 'note' }, 'min ', numSpan(Math.min(...xs)), ', max ',
      numSpan(Math.max(...xs)), ', mean ', numSpan(mean));
  }
  // A tensor in the side panel: a number, a table with its shape, or a colour map beyond 8 × 8.
  function tensorView(t) {
    if (!t) return el('span', { class: 'note' }, '—');
    const s = t.shape;
    if (s.length === 0) return numSpan(t.data[0]);
    const cols = s[s.length - 1];
    if (s.length <= 2 && cols <= M.table && (s.length === 1 || s[0] <= M.table) && t.data.length > 0) {
      const table = el('table', { class: 'tensor' });
      for (let i = 0; i < t.data.length / cols; i++) {
        const tr = el('tr');
        for (let j = 0; j < cols; j++) tr.append(el('td', { class: 'num' }, fmt(t.data[i * cols + j])));
        table.append(tr);
      }
      return el('span', { class: 'tensorview' }, table, el('span', { class: 'shape' }, 'shape ' + shapeText(s)));
    }
    if (t.data.length === 0) return el('span', { class: 'note' }, 'empty, shape ' + shapeText(s));
    // Beside the map, what the terminal prints: every number of a small tensor, else a summary.
    const numbers = el('span', { class: 'values' });
    if (t.data.length <= D.full_limit) t.data.forEach((v, i) => numbers.append(i ? ', ' : '', numSpan(v)));
    else numbers.append(summary(t));
    return el('span', { class: 'tensorview' }, colourMap(t, 96), el('br'),
      el('span', { class: 'shape' }, 'shape ' + shapeText(s) + ': '), numbers);
  }

  // ---- the state at a position ----
  function callText(t) {
    if (t.node < 0) return t.requires_grad ? 'leaf, requires grad' : 'leaf';
    const parts = t.inputs.map((i) => T[i].name);
    if (t.args) parts.push(t.args);
    return t.op.name + '(' + parts.join(', ') + ')';
  }
  // A tensor's gradient once the first j backward steps ran (null: none reached it yet).
  function gradAfter(slot, j) {
    if (slot === D.target) return D.seed;
    let g = null;
    for (let i = 0; i < Math.min(j, nb); i++) {
      for (const c of D.steps[i].inputs) if (c.slot === slot && c.after) g = c.after;
    }
    return g;
  }
  const stepsDone = (p) => (p < nf ? 0 : Math.min(p - nf + 1, nb));
  const computed = (t, p) => t.node < 0 || p >= nf || t.node <= p;

  // ---- the graph, drawn once; step() only changes classes and the numbers in the boxes ----
  const boxes = [];
  const edges = [];
  function drawGraph() {
    const L = D.layout;
    svg.setAttribute('viewBox', `0 0 ${L.width} ${L.height}`);
    svg.setAttribute('width', L.width);
    svg.setAttribute('height', L.height);
    const defs = sv('defs');
    for (const [id, fill] of [['arrow', '#9aa3ae'], ['arrow-forward', '#2f6fdf'], ['arrow-backward', '#e0700b']]) {
      const m = sv('marker', { id, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
      m.append(sv('path', { d: 'M0,0 L10,5 L0,10 z', fill }));
      defs.append(m);
    }
    svg.append(defs);
    for (const e of L.edges) {
      const p = e.points;
      let d = `M${p[0][0]},${p[0][1]}`;
      for (let i = 1; i + 2 < p.length; i += 3) d += ` C${p[i][0]},${p[i][1]} ${p[i + 1][0]},${p[i + 1][1]} ${p[i + 2][0]},${p[i + 2][1]}`;
      const g = sv('g', { class: 'edge' });
      const path = sv('path', { d, 'marker-end': 'url(#arrow)' });
      g.append(path);
      const to = T[e.to];
      if (to.inputs.length > 1) { // name the input's role where the arrow arrives
        const q = p[p.length - 1], r = p[p.length - 2];
        const label = sv('text', { x: q[0] + (q[0] >= r[0] ? 4 : -4), y: q[1] - 8, 'text-anchor': q[0] >= r[0] ? 'start' : 'end' });
        label.textContent = to.roles[e.input];
        g.append(label);
      }
      svg.append(g);
      edges.push({ e, g, path });
    }
    L.boxes.forEach((b, slot) => {
      const t = T[slot];
      const g = sv('g', { class: 'node' + (t.node < 0 ? ' leaf' : '') + (t.requires_grad ? ' param' : ''), transform: `translate(${b[0] - b[2] / 2},${b[1] - b[3] / 2})`, 'data-name': t.name });
      g.append(sv('rect', { class: 'box', width: b[2], height: b[3], rx: 5 }));
      const fo = sv('foreignObject', { x: 0, y: 0, width: b[2], height: b[3] });
      const body = el('div', { class: 'nodebody' });
      body.style.padding = M.pad + 'px';
      const op = t.op ? t.op.name : t.requires_grad ? 'param' : 'leaf';
      body.append(el('div', { class: 'title' }, el('b', {}, t.name), ' ', el('span', { class: 'op' }, op), ' ',
        el('span', { class: 'shape' }, shapeText(t.value.shape))));
      const value = el('div', { class: 'cellsbox' });
      const grad = el('div', { class: 'cellsbox grad' });
      body.append(el('div', { class: 'row' }, el('span', { class: 'lab' }, 'value'), value));
      body.append(el('div', { class: 'row' }, el('span', { class: 'lab' }, 'grad'), grad));
      fo.append(body);
      g.append(fo);
      g.addEventListener('click', () => select(slot));
      svg.append(g);
      boxes.push({ g, value, grad, shown: { value: undefined, grad: undefined } });
    });
  }
  // A tensor inside a node box, in the cells html_page.cpp sized the box for.
  function boxCells(t, view) {
    if (view.kind === 'scalar') return el('span', {}, fmt(t.data[0]));
    if (view.kind === 'table') {
      const c = el('div', { class: 'cells' });
      c.style.gridTemplateColumns = `repeat(${view.cols}, ${view.cell}px)`;
      for (const v of t.data) c.append(el('span', {}, fmt(v)));
      return c;
    }
    const xs = t.data.map(toNumber).filter(Number.isFinite);
    return el('div', {}, colourMap(t, M.map), el('div', { class: 'note' },
      xs.length ? fmt(Math.min(...xs)) + ' … ' + fmt(Math.max(...xs)) : 'no finite values'));
  }
  function setBox(holder, key, t, view, blank) {
    const b = boxes[holder];
    if (b.shown[key] === (t || blank)) return;
    b.shown[key] = t || blank;
    const target = key === 'value' ? b.value : b.grad;
    target.replaceChildren(t ? boxCells(t, view) : el('span', { class: 'note' }, blank));
  }

  // ---- the side panel ----
  function fact(label, name, ...content) {
    return el('div', { class: 'fact', 'data-fact': name }, el('span', { class: 'label' }, label), el('span', { class: 'what' }, ...content));
  }
  function finalGradsTable() {
    const table = el('table', { class: 'grads', 'data-fact': 'final-grads' },
      el('tr', {}, el('th', {}, 'name'), el('th', {}, 'shape'), el('th', {}, 'value'), el('th', {}, 'gradient')));
    for (const t of T) {
      if (t.node >= 0 || !t.requires_grad) continue;
      table.append(el('tr', { 'data-name': t.name }, el('td', { class: 'who' }, t.name), el('td', { class: 'shape' }, shapeText(t.value.shape)),
        el('td', { class: 'value' }, tensorView(t.value)), el('td', { class: 'gradient' }, tensorView(gradAfter(t.slot, nb)))));
    }
    return table;
  }
  function forwardPanel(p) {
    const t = T[D.forward[p]];
    const seen = new Set();
    const ins = [];
    for (const i of t.inputs) {
      if (seen.has(i)) continue;
      seen.add(i);
      ins.push(el('div', {}, el('span', { class: 'who' }, T[i].name), ' = ', tensorView(T[i].value)));
    }
    return [
      el('div', { class: 'phase' }, `forward ${p + 1}/${nf} · node ${p}`),
      el('div', { class: 'heading', 'data-fact': 'heading' }, `${t.name} = ${callText(t)}`),
      fact('inputs', 'inputs', ...ins),
      fact('result', 'result', el('span', { class: 'who' }, t.name), ' = ', tensorView(t.value), ' ',
        el('span', { class: 'note' }, `(${shapeText(t.value.shape)} ${t.dtype})`)),
      el('p', { class: 'note' }, 'Forward: the op computes its result from its inputs. Backward comes after the last forward node.'),
    ];
  }
  function backwardPanel(k) {
    const st = D.steps[k];
    const out = T[st.out];
    const seed = st.out === D.target;
    const withs = out.inputs.map((i, j) => el('div', {}, (out.roles[j] === T[i].name ? '' : `${out.roles[j]} = `) + `${T[i].name} = `, tensorView(T[i].value)));
    if (out.args) withs.push(el('div', {}, out.args));
    const list = el('ul', { class: 'receives' });
    for (const c of st.inputs) {
      if (c.same.length && c.same[0] < c.input) continue; // shown with the first of its places
      const roles = [out.roles[c.input], ...c.same.map((j) => out.roles[j])];
      const who = `→ ${T[c.slot].name} (${roles.join(' and ')}${c.same.length ? ': the same tensor' : ''})`;
      const what = el('span', { class: 'what' });
      let cls = '';
      if (!c.requires_grad) {
        what.append('nothing: a constant (does not require grad)');
        cls = 'none';
      } else if (!c.contribution) {
        what.append('nothing from this rule');
        cls = 'none';
      } else {
        what.append(tensorView(c.contribution));
        if (c.same.length) what.append(el('span', { class: 'note' }, ' (all its places together)'));
        if (c.before) {
          what.append(', added to the ', tensorView(c.before), ' it already had: ', tensorView(c.after),
            el('span', { class: 'note' }, ' (it is used more than once)'));
        }
        if (out.op.elementwise && shapeText(c.contribution.shape) !== shapeText(st.grad.shape)) {
          what.append(el('span', { class: 'note' }, ` (summed over the broadcast axes to shape ${shapeText(c.contribution.shape)})`));
        }
      }
      list.append(el('li', { class: cls, 'data-slot': c.slot }, el('span', { class: 'who' }, who), ' ', what));
    }
    return [
      el('div', { class: 'phase backward' }, `backward ${k + 1}/${nb} · node ${st.node}`),
      el('div', { class: 'heading', 'data-fact': 'heading' }, `${out.name} = ${callText(out)}`),
      fact('gradient in', 'grad-in', `∂${targetName}/∂${out.name} = `, tensorView(st.grad),
        seed ? el('span', { class: 'note' }, ' (the seed: backward starts here)') : ''),
      fact('local rule', 'rule', el('span', { class: 'rule' }, `${out.op.name}: ${out.op.rule}`)),
      fact('with', 'with', ...withs),
      el('div', { class: 'note' }, 'each input receives the incoming gradient times its local derivative:'),
      list,
    ];
  }
  function endPanel() {
    return [
      el('div', { class: 'phase backward' }, 'end'),
      el('div', { class: 'heading', 'data-fact': 'heading' }, 'backward is done'),
      el('p', {}, 'The gradients of the leaves that require grad:'),
      finalGradsTable(),
      el('p', { class: 'note' }, D.gradcheck ? 'Below the graph: the same beside a numerical check (central differences).' : ''),
    ];
  }

  // ---- moving ----
  let pos = 0;
  let selected = -1;
  function show(p) {
    pos = Math.max(0, Math.min(P - 1, p));
    const back = pos >= nf && pos < nf + nb ? D.steps[pos - nf] : null;
    const fwd = pos < nf ? D.forward[pos] : -1;
    const done = stepsDone(pos);
    T.forEach((t, slot) => {
      const b = boxes[slot];
      const on = computed(t, pos);
      b.g.classList.toggle('pending', !on);
      b.g.classList.toggle('current', !!back && back.out === slot);
      b.g.classList.toggle('forward-current', fwd === slot);
      b.g.classList.toggle('receiving', !!back && back.inputs.some((c) => c.slot === slot && c.requires_grad));
      const g = pos >= nf ? gradAfter(slot, done) : null;
      b.g.classList.toggle('done', !!g && !(back && back.out === slot));
      setBox(slot, 'value', on ? t.value : null, t.view, '…');
      setBox(slot, 'grad', g, t.view, t.requires_grad ? '—' : 'none');
    });
    for (const { e, g, path } of edges) {
      const f = fwd === e.to;
      const b = !!back && back.out === e.to && T[e.from].requires_grad;
      g.classList.toggle('forward', f);
      g.classList.toggle('backward', b);
      path.setAttribute('marker-end', b ? 'url(#arrow-backward)' : f ? 'url(#arrow-forward)' : 'url(#arrow)');
    }
    const panel = document.getElementById('panel');
    panel.replaceChildren(...(pos < nf ? forwardPanel(pos) : back ? backwardPanel(pos - nf) : endPanel()));
    document.getElementById('counter').textContent = `step ${pos + 1} / ${P}`;
    document.getElementById('scrub').value = pos + 1;
    const body = document.body.dataset;
    body.step = pos + 1;
    body.phase = pos < nf ? 'forward' : back ? 'backward' : 'end';
    body.current = pos < nf ? T[fwd].name : back ? T[back.out].name : '';
    if (selected >= 0) select(selected);
    try {
      history.replaceState(null, '', '#step=' + (pos + 1));
    } catch (err) {
      // Some browsers refuse replaceState on file: pages; the address then keeps its old step.
    }
    body.hash = location.hash;
  }
  function select(slot) {
    selected = slot;
    boxes.forEach((b, i) => b.g.classList.toggle('selected', i === slot));
    const t = T[slot];
    const done = stepsDone(pos);
    let grad;
    if (!t.requires_grad) grad = el('span', { class: 'note' }, 'none: a constant');
    else if (pos < nf) grad = el('span', { class: 'note' }, 'backward has not started');
    else {
      const g = gradAfter(slot, done);
      grad = g ? el('span', {}, tensorView(g), el('span', { class: 'note' }, done === nb ? ' (final)' : ` (after backward step ${done}/${nb})`))
        : el('span', { class: 'note' }, 'none has reached it yet');
    }
    document.getElementById('detail').replaceChildren(
      el('div', { class: 'heading', 'data-fact': 'detail' }, `${t.name} = ${callText(t)}`),
      el('div', { class: 'note' }, `${shapeText(t.value.shape)} ${t.dtype}`),
      fact('value', 'detail-value', computed(t, pos) ? tensorView(t.value) : el('span', { class: 'note' }, `not computed yet (node ${t.node} comes later)`)),
      fact('gradient', 'detail-grad', grad));
  }

  let timer = null;
  function play(on) {
    clearInterval(timer);
    timer = null;
    if (on) {
      if (pos === P - 1) show(0);
      timer = setInterval(() => {
        if (pos >= P - 1) play(false);
        else show(pos + 1);
      }, Number(document.getElementById('speed').value));
    }
    document.getElementById('play').textContent = timer ? '⏸ pause' : '▶ play';
    document.body.dataset.playing = timer ? 'yes' : 'no';
  }
  function onKey(e) {
    const tag = e.target && e.target.tagName;
    if (tag === 'INPUT' || tag === 'SELECT') return; // the slider and the speed have their own keys
    if (tag === 'BUTTON' && (e.key === ' ' || e.key === 'Enter')) return; // they press the button
    const moves = { ArrowRight: 1, ArrowDown: 1, n: 1, ArrowLeft: -1, ArrowUp: -1, p: -1 };
    if (e.key in moves) show(pos + moves[e.key]);
    else if (e.key === 'Home') show(0);
    else if (e.key === 'End') show(P - 1);
    else if (e.key === ' ') play(!timer);
    else return;
    e.preventDefault();
  }

  function hashParams() {
    const out = {};
    for (const part of location.hash.replace(/^#/, '').split('&')) {
      const at = part.indexOf('=');
      if (at > 0) out[decodeURIComponent(part.slice(0, at))] = decodeURIComponent(part.slice(at + 1));
    }
    return out;
  }
  function stepFromHash() {
    const n = parseInt(hashParams().step, 10);
    return Number.isFinite(n) ? n - 1 : 0;
  }

  function finalSection() {
    const box = el('div', { class: 'columns' });
    box.append(el('div', {}, el('h2', {}, 'The final gradients'),
      el('p', {}, `What backward left in the leaves that require grad: ∂${targetName}/∂leaf.`), finalGradsTable()));
    const gc = D.gradcheck;
    if (gc) {
      const check = el('div', {});
      box.append(check);
      check.append(el('h2', {}, 'Checked numerically'),
        el('p', {}, 'Each element moved by ±ε: (f(x + ε) − f(x − ε)) / 2ε is the numeric derivative. ' +
          `${gc.checked} elements compared, ` + (gc.passed ? 'all within tolerance' : 'SOME OUTSIDE TOLERANCE') +
          (gc.shown < gc.rows.length || gc.shown < gc.checked ? `; the worst ${gc.shown} shown` : '') + ', worst first.'));
      const table = el('table', { class: 'grads', 'data-fact': 'gradcheck' },
        el('tr', {}, ...['input', 'element', 'analytic (backward)', 'numeric', '|error|', 'tolerance', ''].map((h) => el('th', {}, h))));
      for (const r of gc.rows) {
        table.append(el('tr', {}, el('td', { class: 'who' }, r.name), el('td', { class: 'shape' }, shapeText(r.index)),
          el('td', {}, numSpan(r.analytic)), el('td', {}, numSpan(r.numeric)), el('td', {}, numSpan(r.abs_error)),
          el('td', {}, numSpan(r.tolerance)), el('td', { class: r.passed ? 'ok' : 'bad' }, r.passed ? 'ok' : 'FAIL')));
      }
      check.append(table);
    }
    document.getElementById('final').append(box);
  }

  function start() {
    document.title = D.title;
    document.getElementById('title').textContent = D.title;
    document.getElementById('formula').textContent = D.formula;
    document.body.dataset.layout = D.layout.engine;
    const scrub = document.getElementById('scrub');
    scrub.max = P;
    scrub.addEventListener('input', () => show(Number(scrub.value) - 1));
    document.getElementById('first').addEventListener('click', () => show(0));
    document.getElementById('prev').addEventListener('click', () => show(pos - 1));
    document.getElementById('next').addEventListener('click', () => show(pos + 1));
    document.getElementById('last').addEventListener('click', () => show(P - 1));
    document.getElementById('play').addEventListener('click', () => play(!timer));
    document.getElementById('speed').addEventListener('change', () => { if (timer) play(true); });
    document.addEventListener('keydown', onKey);
    window.addEventListener('hashchange', () => { if (stepFromHash() !== pos) show(stepFromHash()); });
    drawGraph();
    finalSection();
    const params = hashParams();
    if (params.dump === 'all') {
      const dump = el('div', { id: 'test-dump', hidden: '' });
      for (let p = 0; p < P; p++) {
        show(p);
        const copy = document.getElementById('panel').cloneNode(true);
        copy.removeAttribute('id');
        copy.setAttribute('data-step', p + 1);
        dump.append(copy);
      }
      document.body.append(dump);
    }
    show(stepFromHash());
    for (const key of (params.keys || '').split(',').filter(Boolean)) {
      document.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true }));
    }
    if (params.click) {
      const b = boxes.find((x) => x.g.dataset.name === params.click);
      if (b) b.g.dispatchEvent(new MouseEvent('click', { bubbles: true }));
      else noteError('click: no tensor named ' + params.click);
    }
    document.body.dataset.ready = 'yes';
  }
  start();
})();
