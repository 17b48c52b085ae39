/* The model in the page: the book's trained transformers run in the reader's browser, no kernel, no network.
 *
 * A model arrives as a script (models/<name>.js, written at build time by book/_ext/page_models.py from the shipped
 * checkpoints) that sets window.IH_MODELS[name]; a page opened from file:// can load a <script src> but cannot
 * fetch() a file.  The forward pass below is ihlib.model.Transformer's, in float64 arithmetic on the float32 (or
 * float16) weights: token + position embedding, per block h = LN1(x), x = (h if normalize_residual else x) +
 * attn(h), x = x + MLP(LN2(x)) with exact GELU, then LN_f and the unembedding; LayerNorms without bias, eps 1e-5.
 * Every widget is a <div class="ih-model" data-models="a,b" data-input="3 1 4">; window.IHModel is the API the
 * widget and the browser test (browser_tests/test_page_model.py) share.
 */
(function () {
  "use strict";
  const BASE = (document.currentScript && document.currentScript.src || "").replace(/[^/]*$/, "");
  const loaded = {};

  function decode(w) {
    const bytes = Uint8Array.from(atob(w.data), (c) => c.charCodeAt(0));
    if (w.dtype === "float32") return new Float32Array(bytes.buffer);
    const half = new Uint16Array(bytes.buffer), out = new Float32Array(half.length);
    for (let i = 0; i < half.length; i++) {
      const h = half[i], s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
      out[i] = e === 0 ? s * f * 2 ** -24 : e === 31 ? (f ? NaN : s * Infinity) : s * (1 + f / 1024) * 2 ** (e - 15);
    }
    return out;
  }

  function prepare(raw) {
    const W = {};
    for (const [k, w] of Object.entries(raw.weights)) W[k] = decode(w);
    return Object.assign({}, raw, { W: W });
  }

  /** The model registered as `name`, loading its script once. */
  function load(name) {
    if (!loaded[name]) {
      loaded[name] = new Promise((resolve, reject) => {
        const ready = () => resolve(prepare(window.IH_MODELS[name]));
        if (window.IH_MODELS && window.IH_MODELS[name]) return ready();
        const tag = document.createElement("script");
        tag.src = BASE + "models/" + name + ".js";
        tag.onload = ready;
        tag.onerror = () => reject(new Error("could not load the model " + name));
        document.head.appendChild(tag);
      });
    }
    return loaded[name];
  }

  // erf by its Taylor series (|x| < 4: about 1e-11 here), else +-1 (|1 - erf(4)| < 2e-8)
  function erf(x) {
    if (Math.abs(x) >= 4) return Math.sign(x);
    let term = x, sum = x;
    for (let n = 1; n < 100; n++) {
      term *= -x * x / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17) break;
    }
    return 2 / Math.sqrt(Math.PI) * sum;
  }
  const gelu = (x) => 0.5 * x * (1 + erf(x / Math.SQRT2));

  function linear(x, w, nIn, nOut) {  // x: rows of nIn; w: (nOut, nIn) as nn.Linear stores it
    const rows = x.length / nIn, y = new Float64Array(rows * nOut);
    for (let r = 0; r < rows; r++)
      for (let o = 0; o < nOut; o++) {
        let s = 0;
        const xo = r * nIn, wo = o * nIn;
        for (let i = 0; i < nIn; i++) s += x[xo + i] * w[wo + i];
        y[r * nOut + o] = s;
      }
    return y;
  }

  function layerNorm(x, w, d) {
    const y = new Float64Array(x.length);
    for (let r = 0; r < x.length / d; r++) {
      let mean = 0, v = 0;
      for (let i = 0; i < d; i++) mean += x[r * d + i];
      mean /= d;
      for (let i = 0; i < d; i++) v += (x[r * d + i] - mean) ** 2;
      const inv = 1 / Math.sqrt(v / d + 1e-5);
      for (let i = 0; i < d; i++) y[r * d + i] = (x[r * d + i] - mean) * inv * w[i];
    }
    return y;
  }

  /** Attention rows to impose in `layer` (1 or 2) at the rows that predict y_1..y_L, or null for the model's own:
   *  "uniform" (layer 1: over all it may see; layer 2: over x_1..x_L) or "ideal" (layer 1: EoI; layer 2: x_t). */
  function forcedRow(kind, layer, q, T, L) {
    const e = L + 1;
    if (!kind || kind === "model" || q < e || q > 2 * L) return null;
    const row = new Float64Array(T);
    if (kind === "ideal") row[layer === 1 ? e : q - e + 1] = 1;
    else if (layer === 1) row.fill(1 / (q + 1), 0, q + 1);
    else row.fill(1 / L, 1, L + 1);
    return row;
  }

  /** Logits (T x vocab) and each layer's attention pattern (head 0, T x T) of `tokens`, with the interventions of
   *  `opts` ({layer1, layer2}: "model" | "uniform" | "ideal"; `L`: the input length). */
  function forward(m, tokens, opts) {
    opts = opts || {};
    const d = m.dim, T = tokens.length, H = m.n_heads, dh = d / H, V = m.vocab_size, W = m.W;
    let x = new Float64Array(T * d);
    for (let t = 0; t < T; t++)
      for (let i = 0; i < d; i++) x[t * d + i] = W["tok_emb.weight"][tokens[t] * d + i] + W["pos_emb.weight"][t * d + i];
    const patterns = [];
    for (let l = 0; l < m.n_layers; l++) {
      const p = "blocks." + l + ".";
      const h = layerNorm(x, W[p + "ln1.weight"], d);
      if (m.normalize_residual) x = h;
      const qkv = linear(h, W[p + "attn.qkv.weight"], d, 3 * d);
      const z = new Float64Array(T * d), pattern = new Float64Array(T * T);
      for (let head = 0; head < H; head++) {
        for (let q = 0; q < T; q++) {
          let row = forcedRow(opts["layer" + (l + 1)], l + 1, q, T, opts.L);
          if (!row) {
            row = new Float64Array(T);
            let max = -Infinity;
            for (let k = 0; k <= q; k++) {
              let s = 0;
              for (let i = 0; i < dh; i++) s += qkv[q * 3 * d + head * dh + i] * qkv[k * 3 * d + d + head * dh + i];
              row[k] = s / Math.sqrt(dh);
              max = Math.max(max, row[k]);
            }
            let sum = 0;
            for (let k = 0; k <= q; k++) sum += (row[k] = Math.exp(row[k] - max));
            for (let k = 0; k <= q; k++) row[k] /= sum;
          }
          if (head === 0) pattern.set(row, q * T);
          for (let k = 0; k <= q; k++)
            for (let i = 0; i < dh; i++) z[q * d + head * dh + i] += row[k] * qkv[k * 3 * d + 2 * d + head * dh + i];
        }
      }
      patterns.push(pattern);
      const a = linear(z, W[p + "attn.out.weight"], d, d);
      for (let i = 0; i < x.length; i++) x[i] += a[i];
      const hidden = linear(layerNorm(x, W[p + "ln2.weight"], d), W[p + "mlp.fc.weight"], d, W[p + "mlp.fc.weight"].length / d);
      for (let i = 0; i < hidden.length; i++) hidden[i] = gelu(hidden[i]);
      const mlp = linear(hidden, W[p + "mlp.proj.weight"], hidden.length / T, d);
      for (let i = 0; i < x.length; i++) x[i] += mlp[i];
    }
    return { logits: linear(layerNorm(x, W["ln_f.weight"], d), W["unembed.weight"], d, V), patterns: patterns };
  }

  /** F(s, x), or the first state from x when s is null; undefined when s is not a state. */
  function step(m, s, x) {
    const t = m.task, j = t.inputs.indexOf(x);
    if (s === null) return t.first[j];
    const i = t.states.indexOf(s);
    return i < 0 ? undefined : t.table[i][j];
  }

  /** The true states y_1..y_L of inputs x (values), from the task's table. */
  function truth(m, x) {
    const y = [];
    x.forEach((v, i) => y.push(step(m, i === 0 ? null : y[i - 1], v)));
    return y;
  }

  /** ihlib.pagemodel.greedy_cot: [task, x.., EoI] extended greedily until EoS or the last position; the patterns
   *  are those of the generated sequence without its last token. */
  function generate(m, x, opts) {
    opts = Object.assign({}, opts, { L: x.length });
    const tokens = [m.task.token, ...x.map((v) => v + m.value_offset), m.eoi];
    while (tokens[tokens.length - 1] !== m.eos && tokens.length <= m.n_positions) {
      const { logits } = forward(m, tokens, opts), V = m.vocab_size, last = (tokens.length - 1) * V;
      let best = 0;
      for (let v = 1; v < V; v++) if (logits[last + v] > logits[last + best]) best = v;
      tokens.push(best);
    }
    const input = tokens.slice(0, -1);
    const patterns = forward(m, input, opts).patterns.map((p) => {
      const rows = [];
      for (let q = 0; q < input.length; q++) rows.push(Array.from(p.slice(q * input.length, (q + 1) * input.length)));
      return rows;
    });
    return { tokens: tokens, patterns: patterns };
  }

  /** Inputs parsed from the box, or an error message naming what is wrong. */
  function parse(m, text) {
    const parts = text.trim().split(/[\s,]+/).filter((s) => s.length);
    if (!parts.length) return { error: "type some inputs, for example " + m.task.inputs.slice(0, 4).join(" ") };
    if (parts.some((s) => !/^\d+$/.test(s))) return { error: "inputs are whole numbers separated by spaces" };
    const x = parts.map(Number), bad = x.filter((v) => !m.task.inputs.includes(v));
    if (bad.length) return { error: m.task.name + " takes inputs " + m.task.inputs.join(", ") + "; not " + bad[0] };
    if (x.length > m.max_len) return { error: "this model reads at most " + m.max_len + " inputs; you gave " + x.length };
    return { x: x };
  }

  function label(m, tok) {
    if (tok === m.eoi) return "EoI";
    if (tok === m.eos) return "EoS";
    if (tok === m.task.token) return m.task.name === "polynomial" ? "poly" : m.task.name;
    if (tok < m.value_offset) return "task";  // another task's token
    return String(tok - m.value_offset);
  }

  // ---- the widget ------------------------------------------------------------------------------------------------
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function bars(m, tokens, row, target) {
    const box = el("div", "ih-bars");
    row.forEach((w, k) => {
      const col = el("div", "ih-bar" + (k === target ? " ih-target" : ""));
      const fill = el("div", "ih-fill");
      fill.style.height = Math.round(100 * w) + "%";
      col.title = label(m, tokens[k]) + " at position " + k + ": " + w.toFixed(3);
      col.append(fill, el("div", "ih-tick", label(m, tokens[k])));
      box.append(col);
    });
    return box;
  }

  function widget(root) {
    const names = root.dataset.models.split(",");
    const scrub = root.dataset.scrub === "epochs";  // the models are one run's snapshots: a slider over them
    const ui = {
      model: el("select", "ih-select"), input: el("input", "ih-input"), run: el("button", "ih-run", "run"),
      l1: el("select", "ih-select"), l2: el("select", "ih-select"), msg: el("div", "ih-msg"),
      chain: el("div", "ih-chain"), step: el("input", "ih-step"), stepLabel: el("div", "ih-step-label"),
      att: el("div", "ih-att"),
    };
    names.forEach((n) => ui.model.append(new Option(n.replace(/-/g, " "), n)));
    if (scrub) {  // a slider over the snapshots instead of a menu
      ui.model = el("input", "ih-epoch");
      Object.assign(ui.model, { type: "range", min: 0, max: names.length - 1, value: 0 });
      ui.epochLabel = el("span", "ih-epoch-label");
    }
    const modelName = () => (scrub ? names[Number(ui.model.value)] : ui.model.value);
    [["model", "layer 1: the model's own"], ["uniform", "layer 1: uniform"], ["ideal", "layer 1: forced onto EoI"]]
      .forEach(([v, t]) => ui.l1.append(new Option(t, v)));
    [["model", "layer 2: the model's own"], ["uniform", "layer 2: uniform over the inputs"], ["ideal", "layer 2: forced onto x_t"]]
      .forEach(([v, t]) => ui.l2.append(new Option(t, v)));
    ui.input.value = root.dataset.input || "";
    ui.input.setAttribute("aria-label", "inputs");
    ui.step.type = "range";
    ui.step.min = 1;
    const controls = el("div", "ih-controls");
    if (scrub) controls.append(ui.epochLabel, ui.model);
    else controls.append(ui.model);
    controls.append(ui.input, ui.run, ui.l1, ui.l2);
    const key = el("div", "ih-key");
    key.innerHTML = '<span class="ih-token ih-right">right</span> <span class="ih-token ih-consistent">wrong, ' +
      'but F of the model\'s own previous answer</span> <span class="ih-token ih-wrong">wrong</span> ' +
      '<span class="ih-token ih-current">the token that writes the step shown</span>';
    root.append(controls, ui.msg, ui.chain, key, ui.stepLabel, ui.step, ui.att);
    let result = null, chosen = null, latest = 0;  // chosen: the step the reader last picked; latest: the last run

    function showStep() {
      if (!result) return;
      const { m, out, x, y, n, forced } = result, L = x.length, t = Number(ui.step.value), q = L + t, e = L + 1;
      const input = out.tokens.slice(0, -1), written = out.tokens[q + 1];
      const value = written - m.value_offset, isValue = label(m, written) === String(value);
      ui.stepLabel.textContent = "step " + t + " of " + n + ": token " + label(m, input[q]) + " at position " + q +
        " writes " + (isValue ? "y_" + t + " = " + value : label(m, written)) +
        (isValue && value === y[t - 1] ? " (right)" : " (wrong: the true y_" + t + " is " + y[t - 1] + ")") +
        (n < L ? "; the model wrote " + label(m, out.tokens[L + 2 + n] ?? m.eos) + " after " + n + " of " + L +
          " answers" : "");
      ui.att.replaceChildren();
      out.patterns.forEach((p, l) => {
        const panel = el("div", "ih-panel");
        const row = p[q], top = row.indexOf(Math.max(...row));
        const target = l === 0 ? "EoI" : "x_" + t, own = forced[l] === "model";
        panel.append(el("div", "ih-panel-title", "layer " + (l + 1) + ": " + (own ? "looks most at " +
          label(m, input[top]) + " (position " + top + ", weight " + row[top].toFixed(2) + ")" :
          (forced[l] === "uniform" ? "replaced by uniform attention" : "forced onto " + target)) +
          "; the iteration head's target, " + target + ", in blue"),
          bars(m, input, row.slice(0, q + 1), l === 0 ? e : t));
        ui.att.append(panel);
      });
      Array.from(ui.chain.children).forEach((c, k) => c.classList.toggle("ih-current", k === q));
    }

    async function run(ev) {
      const ticket = ++latest;
      const m = await load(modelName());
      if (ticket !== latest) return;  // a later run (a faster scrub) owns the widget now
      if (ev && ev.target === ui.model && parse(m, ui.input.value).error)  // another task: an input of its own
        ui.input.value = Array.from({ length: Math.min(6, m.max_len) },
          (_, i) => m.task.inputs[(i * 7 + 3) % m.task.inputs.length]).join(" ");
      if (scrub) ui.epochLabel.textContent = (root.dataset.labels || "").split(",")[Number(ui.model.value)] || "";
      const parsed = parse(m, ui.input.value);
      if (parsed.error) { ui.msg.textContent = parsed.error; return; }  // the previous result stays
      ui.msg.textContent = "";
      const x = parsed.x, y = truth(m, x), forced = [ui.l1.value, ui.l2.value];
      const out = generate(m, x, { layer1: forced[0], layer2: forced[1] });
      ui.chain.replaceChildren();
      let n = 0;  // answers written before EoS or the last position
      out.tokens.forEach((tok, k) => {
        const i = k - x.length - 2, c = el("span", "ih-token", label(m, tok));
        const value = tok - m.value_offset, isValue = label(m, tok) === String(value);
        if (k <= x.length + 1) c.classList.add(k === 0 ? "ih-task" : k === x.length + 1 ? "ih-eoi-token" : "ih-input-token");
        else if (i < x.length && isValue && n === i) {
          n++;
          const own = step(m, i === 0 ? null : out.tokens[k - 1] - m.value_offset, x[i]);
          c.classList.add(value === y[i] ? "ih-right" : value === own ? "ih-consistent" : "ih-wrong");
        } else if (i < x.length) c.classList.add("ih-wrong");
        c.title = k <= x.length + 1 ? "given" : i < x.length ? "y_" + (i + 1) + ", true " + y[i] : "after y_L";
        ui.chain.append(c);
      });
      result = { m: m, out: out, x: x, y: y, n: n, forced: forced };
      ui.step.max = Math.max(1, Math.min(n + 1, x.length));
      ui.step.value = Math.min(chosen || Number(root.dataset.step) || 1, Number(ui.step.max));
      showStep();
      root.dataset.result = JSON.stringify(out.tokens);
      if (window.IHModel.firstResultMs === undefined) window.IHModel.firstResultMs = performance.now();
    }

    const go = (ev) => run(ev).catch((err) => { ui.msg.textContent = err.message; });
    ui.run.onclick = go;
    ui.input.onkeydown = (ev) => { if (ev.key === "Enter") go(); };
    [ui.l1, ui.l2].forEach((s) => (s.onchange = go));
    if (scrub) ui.model.oninput = go;  // a slider: every move (its change event would run it twice)
    else ui.model.onchange = go;
    ui.step.oninput = () => { chosen = Number(ui.step.value); showStep(); };
    go();
  }

  window.IHModel = { load: load, forward: forward, generate: generate, parse: parse, truth: truth };
  const start = () => {
    window.IHModel.startMs = performance.now();
    document.querySelectorAll("div.ih-model").forEach(widget);
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
