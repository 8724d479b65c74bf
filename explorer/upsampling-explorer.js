/* Upsampling explorer: an interactive view of upsampling layers in the book's HTML pages.

   No kernel, no server, no library: this file and upsampling-explorer.css are all it needs.
   tools/explorer_embed.py ships both with the build and adds them to the pages that embed
   the explorer, each embed being a <div class="upsampling-explorer" data-state='{...}'>
   whose content (a link for notebook readers) is replaced by the explorer.

   A classic script, not an ES module, on purpose: the README promises that the built book
   reads from file:// (open _build/html/index.html), and browsers refuse to load module
   scripts from file:// URLs. Everything lives in one namespace, window.UpsamplingExplorer.

   The arithmetic follows Keras 3 (TensorFlow backend), channels-last, one channel, no bias.
   tools/explorer_check.py holds it to the package's NumPy references and to Keras through
   the page, by setting the controls and reading the grids. */
(function () {
  "use strict";

  // ---------------------------------------------------------------------------------------
  // The space of settings. tools/explorer_check.py enumerates the same ranges.

  const LIMITS = { size: [1, 5], kernel: [1, 5], stride: [1, 3], seed: [0, 999] };
  const OUTPUT_PADDINGS = [null, 0, 1, 2];
  /** 3D values are drawn only for small outputs ("a tiny volume"); shapes always. */
  const MAX_VOXELS = 512;

  const OPERATIONS = {
    "conv-transpose": { label: "Transposed convolution", ranks: [1, 2, 3], kernel: true, padding: true, outputPadding: true },
    conv: { label: "Convolution", ranks: [1, 2, 3], kernel: true, padding: true, outputPadding: false },
    nearest: { label: "Nearest upsampling", ranks: [1, 2, 3], kernel: false, padding: false, outputPadding: false },
    bilinear: { label: "Bilinear upsampling", ranks: [2], kernel: false, padding: false, outputPadding: false },
    unpool: { label: "Max pooling, then unpooling", ranks: [2, 3], kernel: true, padding: true, outputPadding: false },
  };
  const KERNEL_VALUES = { ones: "all ones", counting: "1, 2, 3, …", random: "random (seeded)", bilinear: "bilinear" };
  const INPUT_VALUES = { counting: "1, 2, 3, …", ones: "all ones (constant)", random: "random 0–9 (seeded)" };
  const AXIS_NAMES = { 1: ["length"], 2: ["height", "width"], 3: ["depth", "height", "width"] };

  const DEFAULT_STATE = {
    operation: "conv-transpose", rank: 2, sizes: [2, 2], kernel: 3, stride: 2, padding: "valid",
    outputPadding: null, kernelValues: "ones", inputValues: "counting", seed: 0,
  };

  // ---------------------------------------------------------------------------------------
  // N-dimensional arrays: {shape, data}, row-major (last axis fastest), as NumPy's default.

  function product(values) { return values.reduce((a, b) => a * b, 1); }
  function zeros(shape) { return { shape: shape.slice(), data: new Float64Array(product(shape)) }; }
  function strides(shape) {
    const result = new Array(shape.length);
    let step = 1;
    for (let axis = shape.length - 1; axis >= 0; axis--) { result[axis] = step; step *= shape[axis]; }
    return result;
  }
  function coordinates(flat, shape) {
    const result = new Array(shape.length);
    for (let axis = shape.length - 1; axis >= 0; axis--) { result[axis] = flat % shape[axis]; flat = Math.floor(flat / shape[axis]); }
    return result;
  }
  function flatIndex(coords, shape) {
    let flat = 0;
    for (let axis = 0; axis < shape.length; axis++) {
      if (coords[axis] < 0 || coords[axis] >= shape[axis]) return -1;
      flat = flat * shape[axis] + coords[axis];
    }
    return flat;
  }
  function fromFunction(shape, valueAt) {
    const array = zeros(shape);
    for (let flat = 0; flat < array.data.length; flat++) array.data[flat] = valueAt(coordinates(flat, shape), flat);
    return array;
  }

  /** Seeded generator (mulberry32): the same numbers in every browser. */
  function generator(seed) {
    let a = seed >>> 0;
    return function () {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function makeInput(state) {
    const shape = state.sizes.slice();
    if (state.inputValues === "ones") return fromFunction(shape, () => 1);
    if (state.inputValues === "random") {
      const next = generator(2 * state.seed + 1);
      return fromFunction(shape, () => Math.floor(next() * 10));
    }
    return fromFunction(shape, (c, flat) => flat + 1);
  }

  /** 1D weights of linear interpolation by `stride` as a kernel of `size` taps: a tent of
      half-width `stride` centred on the kernel (uc.artifacts.bilinear_kernel_1d for
      size = 2 * stride - stride % 2). */
  function tent(size, stride) {
    const centre = (size - 1) / 2;
    return Array.from({ length: size }, (_, t) => Math.max(0, 1 - Math.abs(t - centre) / stride));
  }

  function makeKernel(state) {
    const shape = new Array(state.rank).fill(state.kernel);
    switch (state.kernelValues) {
      case "counting": return fromFunction(shape, (c, flat) => flat + 1);
      case "random": {
        // Multiples of 0.1 in [-1, 1]: exact in the cells, so every sum can be checked.
        const next = generator(2 * state.seed + 2);
        return fromFunction(shape, () => (Math.floor(next() * 21) - 10) / 10 + 0);
      }
      case "bilinear": {
        const weights = tent(state.kernel, state.stride);
        return fromFunction(shape, (c) => product(c.map((t) => weights[t])));
      }
      default: return fromFunction(shape, () => 1);
    }
  }

  // ---------------------------------------------------------------------------------------
  // Output lengths and the rules Keras enforces.

  /** Keras' transposed-convolution length of one axis (reference.conv_transpose_output_length). */
  function transposedLength(n, k, s, padding, op) {
    if (padding === "valid") return op === null ? (n - 1) * s + Math.max(k, s) : (n - 1) * s + k + op;
    return op === null ? n * s : (n - 1) * s + (k % 2) + op;
  }

  /** TensorFlow's padding of a convolution or pooling axis: [before, after, output length].

      With padding="same" the windows need (out - 1) * stride + kernel pixels. When that is
      fewer than the input has (in the explorer's ranges: kernel 1, stride 3, 3 pixels),
      Conv1D and Conv2D start at the first pixel, as TensorFlow documents, but TensorFlow's
      own CPU kernel of Conv3D, which runs when oneDNN is off (the course sets
      TF_ENABLE_ONEDNN_OPTS=0), centres the windows: it "pads" by half the negative amount,
      rounded towards zero, and skips the first pixel. Its gradient and the oneDNN kernel do
      not. Measured on the pinned TensorFlow; `centred` asks for that rule. */
  function convolutionPadding(n, k, s, padding, centred) {
    if (padding === "valid") return [0, 0, Math.floor((n - k) / s) + 1];
    const out = Math.ceil(n / s);
    const needed = (out - 1) * s + k - n;
    if (centred && needed < 0) { const before = Math.trunc(needed / 2); return [before, needed - before, out]; }
    const total = Math.max(needed, 0);
    return [Math.floor(total / 2), total - Math.floor(total / 2), out];
  }

  /** Why Keras refuses these settings, in plain words, or null. The rules were found by
      running every combination of the explorer's ranges through the pinned Keras. */
  function refusal(state) {
    const { operation, kernel: k, stride: s, padding, outputPadding: op } = state;
    if (operation === "conv-transpose") {
      if (op !== null && op >= s) {
        return {
          rule: "output-padding-below-stride",
          text: `output_padding must be smaller than the stride: here it is ${op} with strides=${s}. ` +
            "output_padding only chooses among the output lengths that a stride-" + s + " convolution " +
            "maps back to the same input length, and there are " + s + " of them (0 to " + (s - 1) + "). " +
            "Keras raises a ValueError when the layer is created.",
        };
      }
      if (padding === "same" && k % 2 === 0 && op === 0) {
        const n = state.sizes[0];
        const length = (n - 1) * s;
        return {
          rule: "same-even-kernel-zero-output-padding",
          text: `With padding="same", an even kernel (${k}) and output_padding=0, the output would have ` +
            `(n − 1) × stride pixels per axis (${length} for n = ${n}). TensorFlow computes a transposed ` +
            "convolution as the gradient of a convolution, and a \"same\" convolution of that length with " +
            `stride ${s} returns ⌈${length}/${s}⌉ = ${Math.ceil(length / s)} pixel${Math.ceil(length / s) === 1 ? "" : "s"}, ` +
            `not the input's ${n}. TensorFlow refuses the layer when it is called. Leave output_padding ` +
            "unset (the output is then n × stride), set it to 1 or more, or use an odd kernel.",
        };
      }
    }
    if ((operation === "conv" || operation === "unpool") && padding === "valid") {
      const axis = state.sizes.findIndex((n) => n < k);
      if (axis >= 0) {
        const what = operation === "conv" ? "kernel" : "pooling window";
        const name = AXIS_NAMES[state.rank][axis];
        return {
          rule: operation === "conv" ? "kernel-fits-input" : "window-fits-input",
          text: `With padding="valid" the ${what} must fit inside the input: it is ${k} pixels wide, ` +
            `the input's ${name} only ${state.sizes[axis]}. ` +
            (operation === "conv"
              ? "The output would have no pixels; Keras raises a ValueError (\"Computed output size would be zero or negative\")."
              : "The pooled map would have no pixels, so there is nothing to unpool; TensorFlow raises an error or returns an empty map.") +
            " Use padding=\"same\", a smaller " + what + " or a larger input.",
        };
      }
    }
    return null;
  }

  // ---------------------------------------------------------------------------------------
  // The operations. Each returns the output plus what the views need.

  /** Transposed convolution as a scatter-add of the unflipped kernel, cropped as Keras does. */
  function transposedGeometry(state) {
    const { sizes, kernel: k, stride: s, padding, outputPadding: op } = state;
    const full = sizes.map((n) => (n - 1) * s + k);
    const out = sizes.map((n) => transposedLength(n, k, s, padding, op));
    const start = full.map((f, a) => (padding === "same" ? Math.floor(Math.max(f - out[a], 0) / 2) : 0));
    return { full, out, start };
  }

  function scatterTransposed(x, kernel, state, geometry, onlyInput) {
    const s = state.stride;
    const output = zeros(geometry.out);
    const kernelShape = kernel.shape;
    for (let i = 0; i < x.data.length; i++) {
      if (onlyInput !== undefined && !onlyInput(i)) continue;
      const value = x.data[i];
      if (value === 0) continue;
      const position = coordinates(i, x.shape);
      for (let j = 0; j < kernel.data.length; j++) {
        const tap = coordinates(j, kernelShape);
        const target = flatIndex(tap.map((t, a) => position[a] * s + t - geometry.start[a]), geometry.out);
        if (target >= 0) output.data[target] += value * kernel.data[j];
      }
    }
    return output;
  }

  /** Output pixels (flat) that input pixel `i` stamps its kernel onto. */
  function transposedFootprint(i, state, geometry) {
    const position = coordinates(i, state.sizes);
    const taps = zeros(new Array(state.rank).fill(state.kernel));
    const result = [];
    for (let j = 0; j < taps.data.length; j++) {
      const tap = coordinates(j, taps.shape);
      const target = flatIndex(tap.map((t, a) => position[a] * state.stride + t - geometry.start[a]), geometry.out);
      if (target >= 0) result.push(target);
    }
    return result;
  }

  /** The equivalent direct convolution: zeros inserted between the input pixels, zeros
      around them, and the kernel turned by 180 degrees, read with stride 1. */
  function equivalentConvolution(x, kernel, state, geometry) {
    const k = state.kernel, s = state.stride;
    const before = geometry.start.map((start) => k - 1 - start);
    const shape = geometry.out.map((o) => o + k - 1);
    const after = shape.map((length, a) => length - before[a] - ((state.sizes[a] - 1) * s + 1));
    const grid = zeros(shape);
    const roles = new Uint8Array(grid.data.length); // 0 padding, 1 inserted zero, 2 input pixel
    for (let flat = 0; flat < grid.data.length; flat++) {
      const c = coordinates(flat, shape);
      let inside = true;
      let onPixel = true;
      for (let a = 0; a < c.length; a++) {
        const offset = c[a] - before[a];
        if (offset < 0 || offset > (state.sizes[a] - 1) * s) inside = false;
        else if (offset % s !== 0) onPixel = false;
      }
      if (inside && onPixel) {
        roles[flat] = 2;
        grid.data[flat] = x.data[flatIndex(c.map((v, a) => (v - before[a]) / s), x.shape)];
      } else if (inside) roles[flat] = 1;
    }
    const flipped = fromFunction(kernel.shape, (c) => kernel.data[flatIndex(c.map((t) => k - 1 - t), kernel.shape)]);
    return { grid, roles, flipped, before, after };
  }

  /** On a constant input every interior output pixel of one phase receives the sum of the
      kernel taps that land on that phase (its polyphase sub-kernel). */
  function polyphase(kernel, state, geometry) {
    const k = state.kernel, s = state.stride, rank = state.rank;
    const phaseShape = geometry.out.map((o) => Math.min(s, o));
    const phases = [];
    for (let p = 0; p < product(phaseShape); p++) {
      const phase = coordinates(p, phaseShape);
      let taps = 0, sum = 0;
      for (let j = 0; j < kernel.data.length; j++) {
        const tap = coordinates(j, kernel.shape);
        if (tap.every((t, a) => ((t - phase[a] - geometry.start[a]) % s + s) % s === 0)) { taps++; sum += kernel.data[j]; }
      }
      phases.push({ phase, taps, sum });
    }
    // Interior: every tap of the pixel's phase comes from an input pixel that exists.
    const interior = new Uint8Array(product(geometry.out));
    for (let o = 0; o < interior.length; o++) {
      const c = coordinates(o, geometry.out);
      let inside = true;
      for (let a = 0; a < rank && inside; a++) {
        const position = c[a] + geometry.start[a];
        for (let t = position % s; t < k; t += s) {
          const source = (position - t) / s;
          if (source < 0 || source > state.sizes[a] - 1) { inside = false; break; }
        }
      }
      interior[o] = inside ? 1 : 0;
    }
    return { phases, interior };
  }

  function convolve(x, kernel, state) {
    const k = state.kernel, s = state.stride;
    const pads = state.sizes.map((n) => convolutionPadding(n, k, s, state.padding, state.rank === 3));
    const before = pads.map((p) => p[0]), after = pads.map((p) => p[1]), out = pads.map((p) => p[2]);
    const paddedShape = state.sizes.map((n, a) => n + before[a] + after[a]);
    const padded = zeros(paddedShape);
    const roles = new Uint8Array(padded.data.length);
    for (let flat = 0; flat < padded.data.length; flat++) {
      const source = flatIndex(coordinates(flat, paddedShape).map((v, a) => v - before[a]), x.shape);
      if (source >= 0) { padded.data[flat] = x.data[source]; roles[flat] = 2; }
    }
    const output = zeros(out);
    const reads = zeros(x.shape);
    const windows = [];
    for (let o = 0; o < output.data.length; o++) {
      const c = coordinates(o, out);
      let sum = 0;
      const window = [];
      for (let j = 0; j < kernel.data.length; j++) {
        const tap = coordinates(j, kernel.shape);
        const where = c.map((v, a) => v * s + tap[a]);
        const flat = flatIndex(where, paddedShape);
        window.push(flat);
        sum += padded.data[flat] * kernel.data[j];
        const source = flatIndex(where.map((v, a) => v - before[a]), x.shape);
        if (source >= 0) reads.data[source] += 1;
      }
      output.data[o] = sum;
      windows.push(window);
    }
    return { output, padded, roles, before, after, reads, windows };
  }

  function nearest(x, s) {
    return fromFunction(x.shape.map((n) => n * s), (c) => x.data[flatIndex(c.map((v) => Math.floor(v / s)), x.shape)]);
  }

  /** Linear interpolation along each axis in turn, half-pixel centres, edges clamped
      (UpSampling2D(interpolation="bilinear"); reference.upsample_bilinear). */
  function bilinear(x, s) {
    let current = x;
    for (let axis = 0; axis < x.shape.length; axis++) {
      const n = current.shape[axis];
      const shape = current.shape.slice();
      shape[axis] = n * s;
      const source = current;
      current = fromFunction(shape, (c) => {
        const position = Math.min(Math.max((c[axis] + 0.5) / s - 0.5, 0), n - 1);
        const lower = Math.floor(position), upper = Math.min(lower + 1, n - 1), weight = position - lower;
        const at = (i) => { const d = c.slice(); d[axis] = i; return source.data[flatIndex(d, source.shape)]; };
        return (1 - weight) * at(lower) + weight * at(upper);
      });
    }
    return current;
  }

  /** Max pooling with switches (TensorFlow's windows; first maximum in row-major order
      wins), then every maximum put back at its switch, zeros elsewhere. */
  function poolAndUnpool(x, state) {
    const k = state.kernel, s = state.stride;
    const pads = state.sizes.map((n) => convolutionPadding(n, k, s, state.padding));
    const out = pads.map((p) => p[2]);
    const pooled = zeros(out);
    const switches = [];
    const windows = [];
    for (let o = 0; o < pooled.data.length; o++) {
      const c = coordinates(o, out);
      const starts = c.map((v, a) => Math.max(v * s - pads[a][0], 0));
      const stops = c.map((v, a) => Math.min(v * s - pads[a][0] + k, state.sizes[a]));
      const windowShape = stops.map((stop, a) => stop - starts[a]);
      let best = -Infinity, where = -1;
      const window = [];
      for (let w = 0; w < product(windowShape); w++) {
        const flat = flatIndex(coordinates(w, windowShape).map((v, a) => v + starts[a]), x.shape);
        window.push(flat);
        if (x.data[flat] > best) { best = x.data[flat]; where = flat; }
      }
      pooled.data[o] = best;
      switches.push(where);
      windows.push(window);
    }
    const output = zeros(x.shape);
    switches.forEach((where, o) => { output.data[where] = pooled.data[o]; });
    return { output, pooled, switches, windows };
  }

  // ---------------------------------------------------------------------------------------
  // The Keras call for the settings.

  function tuple(values) { return values.length === 1 ? `(${values[0]},)` : `(${values.join(", ")})`; }

  function kerasCall(state, outputShape) {
    const r = state.rank, k = state.kernel, s = state.stride;
    const inShape = tuple([1, ...state.sizes, 1]);
    const result = outputShape ? `# shape ${tuple([1, ...outputShape, 1])}` : "# Keras refuses: see below";
    const kernelShape = new Array(r).fill(k).concat([1, 1]).join(", ");
    switch (state.operation) {
      case "conv-transpose":
      case "conv": {
        const name = state.operation === "conv" ? `Conv${r}D` : `Conv${r}DTranspose`;
        const op = state.operation === "conv-transpose" && state.outputPadding !== null ? `, output_padding=${state.outputPadding}` : "";
        return [
          `layer = keras.layers.${name}(1, ${k}, strides=${s}, padding="${state.padding}"${op}, use_bias=False)`,
          `layer.build(x.shape)  # x: the input above, shape ${inShape}`,
          `layer.kernel.assign(kernel.reshape(${kernelShape}))  # the kernel above`,
          `y = layer(x)  ${result}`,
        ];
      }
      case "nearest":
        return [`y = keras.layers.UpSampling${r}D(size=${s}${r === 2 ? ', interpolation="nearest"' : ""})(x)  ${result}`];
      case "bilinear":
        return [`y = keras.layers.UpSampling2D(size=${s}, interpolation="bilinear")(x)  ${result}`];
      case "unpool":
        return [
          "# Keras has no unpooling layer; the course package has a pair (upsampling_course.layers).",
          `from upsampling_course.layers import MaxPoolingWithArgmax${r}D, MaxUnpooling${r}D`,
          `pooled, switches = MaxPoolingWithArgmax${r}D(pool_size=${k}, strides=${s}, padding="${state.padding}")(x)`,
          `y = MaxUnpooling${r}D()([pooled, switches, x])  ${result}`,
        ];
      default: return [];
    }
  }

  // ---------------------------------------------------------------------------------------
  // Everything the page shows, computed from the settings.

  function compute(state) {
    const x = makeInput(state);
    const usesKernel = OPERATIONS[state.operation].kernel && state.operation !== "unpool";
    const kernel = usesKernel ? makeKernel(state) : null;
    const refused = refusal(state);
    const result = { state, input: x, kernel, refusal: refused };
    if (refused) { result.call = kerasCall(state, null); return result; }

    const s = state.stride;
    if (state.operation === "conv-transpose") {
      const geometry = transposedGeometry(state);
      result.geometry = geometry;
      result.output = scatterTransposed(x, kernel, state, geometry);
      result.equivalent = equivalentConvolution(x, kernel, state, geometry);
      const ones = fromFunction(x.shape, () => 1);
      result.overlap = scatterTransposed(ones, fromFunction(kernel.shape, () => 1), state, geometry);
      result.constant = scatterTransposed(ones, kernel, state, geometry);
      Object.assign(result, polyphase(kernel, state, geometry));
      result.stamps = {
        unit: "input pixel", count: x.data.length,
        partial: (t) => scatterTransposed(x, kernel, state, geometry, (i) => i < t),
        source: (t) => [t - 1],
        target: (t) => transposedFootprint(t - 1, state, geometry),
      };
    } else if (state.operation === "conv") {
      const c = convolve(x, kernel, state);
      Object.assign(result, { output: c.output, padded: c.padded, paddedRoles: c.roles, paddingBefore: c.before, paddingAfter: c.after, reads: c.reads });
      result.stamps = {
        unit: "output pixel", count: c.output.data.length,
        partial: (t) => fromFunction(c.output.shape, (cc, o) => (o < t ? c.output.data[o] : 0)),
        source: (t) => c.windows[t - 1], sourceGrid: "padded",
        target: (t) => [t - 1],
      };
    } else if (state.operation === "nearest" || state.operation === "bilinear") {
      const apply = state.operation === "nearest" ? nearest : bilinear;
      result.output = apply(x, s);
      const onePixel = (i) => fromFunction(x.shape, (cc, flat) => (flat === i ? 1 : 0));
      result.stamps = {
        unit: "input pixel", count: x.data.length,
        partial: (t) => apply(fromFunction(x.shape, (cc, flat) => (flat < t ? x.data[flat] : 0)), s),
        source: (t) => [t - 1],
        target: (t) => {
          const spread = apply(onePixel(t - 1), s);
          const cells = [];
          spread.data.forEach((v, o) => { if (v !== 0) cells.push(o); });
          return cells;
        },
      };
    } else if (state.operation === "unpool") {
      const u = poolAndUnpool(x, state);
      Object.assign(result, { output: u.output, pooled: u.pooled, switches: u.switches });
      result.stamps = {
        unit: "pooling window", count: u.pooled.data.length,
        partial: (t) => {
          const partial = zeros(x.shape);
          for (let o = 0; o < t; o++) partial.data[u.switches[o]] = u.pooled.data[o];
          return partial;
        },
        source: (t) => u.windows[t - 1],
        target: (t) => [u.switches[t - 1]],
      };
    }
    result.call = kerasCall(state, result.output.shape);
    return result;
  }

  // ---------------------------------------------------------------------------------------
  // Drawing: every grid is an HTML table (its own text alternative), 3D as depth slices.

  function format(value) {
    if (Math.abs(value - Math.round(value)) < 1e-9) return String(Math.round(value) + 0).replace("-", "−");
    return value.toFixed(2).replace(/0+$/, "").replace(/\.$/, "").replace("-", "−");
  }

  function escapeHtml(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }

  /** Diverging colours centred on zero (white), blue below, red above; the text is black
      or white, whichever contrasts more (at least 4.5:1 on any background). */
  function colours(value, scale) {
    const t = scale > 0 ? Math.max(-1, Math.min(1, value / scale)) : 0;
    const end = t >= 0 ? [178, 24, 43] : [33, 102, 172];
    const rgb = [255, 255, 255].map((w, i) => Math.round(w + (end[i] - w) * Math.abs(t) * 0.85));
    const linear = rgb.map((c) => { const v = c / 255; return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    const luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2];
    const text = (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) ? "#000" : "#fff";
    return `background-color:rgb(${rgb.join(",")});color:${text}`;
  }

  function plural(count, word) { return `${count} ${word}${count === 1 ? "" : "s"}`; }
  function maxAbs(array) { let m = 0; for (const v of array.data) m = Math.max(m, Math.abs(v)); return m; }
  function dims(shape) { return shape.join(" × "); }

  /** One grid as tables: a 1D array is one row, 2D one table, 3D one table per depth slice.
      options: scale, classOf(flat) -> extra cell class, sliceName. */
  function gridTables(array, title, options) {
    const opts = options || {};
    const scale = opts.scale !== undefined ? opts.scale : maxAbs(array);
    const shape = array.shape;
    const slices = shape.length === 3 ? shape[0] : 1;
    const rows = shape.length === 1 ? 1 : shape[shape.length - 2];
    const cols = shape[shape.length - 1];
    let html = "";
    for (let d = 0; d < slices; d++) {
      // The figure's caption names the grid; a table's caption says which slice it is.
      const caption = shape.length === 3
        ? `<span class="ux-sr">${escapeHtml(title)}: </span>depth ${d + 1} of ${slices}`
        : `<span class="ux-sr">${escapeHtml(title)}, ${dims(shape)}</span>`;
      html += `<table class="ux-grid"><caption>${caption}</caption><thead><tr><td class="ux-corner"></td>`;
      for (let c = 0; c < cols; c++) html += `<th scope="col">${c + 1}</th>`;
      html += "</tr></thead><tbody>";
      for (let r = 0; r < rows; r++) {
        html += `<tr><th scope="row">${shape.length === 1 ? "" : r + 1}</th>`;
        for (let c = 0; c < cols; c++) {
          const flat = (d * rows + r) * cols + c;
          const value = array.data[flat];
          const extra = opts.classOf ? opts.classOf(flat) : "";
          html += `<td class="${extra}" style="${colours(value, scale)}">${format(value)}</td>`;
        }
        html += "</tr>";
      }
      html += "</tbody></table>";
    }
    return html;
  }

  let instances = 0;

  function panel(id, name, title, array, options, note) {
    const caption = `${id}-${name}-caption`;
    return `<figure class="ux-panel" data-grid="${name}"><figcaption id="${caption}">${escapeHtml(title)} <span class="ux-dims">(${dims(array.shape)})</span></figcaption>` +
      `<div class="ux-scroll" role="region" aria-labelledby="${caption}">${gridTables(array, title, options)}</div>` +
      (note ? `<p class="ux-note">${note}</p>` : "") + "</figure>";
  }

  /** Oblique drawing of cuboids for the 3D shapes (input, kernel, output): the front face
      is height x width, depth recedes up and to the right. */
  function shapesSvg(boxes) {
    const largest = Math.max(...boxes.flatMap((b) => b.shape));
    const unit = Math.max(4, Math.min(14, Math.floor(100 / largest)));
    const half = unit / 2;
    const top = 8 + Math.max(...boxes.map((b) => b.shape[0])) * half;
    const bottom = top + Math.max(...boxes.map((b) => b.shape[1])) * unit;
    let x = 8, parts = "";
    for (const box of boxes) {
      const [d, h, w] = box.shape;
      const ox = x, oy = top;
      const front = `M${ox},${oy} h${w * unit} v${h * unit} h${-w * unit} Z`;
      const topFace = `M${ox},${oy} l${d * half},${-d * half} h${w * unit} l${-d * half},${d * half} Z`;
      const side = `M${ox + w * unit},${oy} l${d * half},${-d * half} v${h * unit} l${-d * half},${d * half} Z`;
      let lines = "";
      for (let i = 1; i < w; i++) lines += `M${ox + i * unit},${oy + h * unit} v${-h * unit} l${d * half},${-d * half} `;
      for (let i = 1; i < h; i++) lines += `M${ox},${oy + i * unit} h${w * unit} l${d * half},${-d * half} `;
      for (let i = 1; i < d; i++) lines += `M${ox + i * half},${oy - i * half} h${w * unit} v${h * unit} `;
      const label = `${box.label} ${dims(box.shape)}`;
      parts += `<g class="ux-box ux-box-${box.kind}"><path class="ux-face" d="${topFace}"/><path class="ux-face" d="${side}"/>` +
        `<path class="ux-face ux-front" d="${front}"/><path class="ux-lines" d="${lines}"/>` +
        `<text x="${ox}" y="${bottom + 20}">${escapeHtml(label)}</text></g>`;
      x += Math.max(w * unit + d * half, label.length * 7.5) + 28;
    }
    const width = Math.ceil(x), height = Math.ceil(bottom + 28);
    const description = boxes.map((b) => `${b.label} ${b.shape.join(" by ")}`).join("; ");
    return `<svg class="ux-shapes" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" ` +
      `aria-label="${escapeHtml(description)}">${parts}</svg>`;
  }

  // ---------------------------------------------------------------------------------------
  // The widget.

  function field(id, name, label, control, help) {
    return `<div class="ux-field" data-field="${name}"><label for="${id}-${name}">${label}</label>${control}` +
      (help ? `<span class="ux-help" id="${id}-${name}-help">${help}</span>` : "") + "</div>";
  }
  function numberInput(id, name, range, describedBy) {
    return `<input type="number" id="${id}-${name}" name="${name}" min="${range[0]}" max="${range[1]}" step="1" inputmode="numeric" required` +
      (describedBy ? ` aria-describedby="${id}-${name}-help"` : "") + ">";
  }
  function select(id, name, options) {
    return `<select id="${id}-${name}" name="${name}">` +
      Object.entries(options).map(([value, text]) => `<option value="${value}">${escapeHtml(text)}</option>`).join("") + "</select>";
  }

  function controlsHtml(id) {
    const operations = Object.fromEntries(Object.entries(OPERATIONS).map(([key, op]) => [key, op.label]));
    const sizeFields = [0, 1, 2].map((axis) =>
      `<div class="ux-field" data-field="size-${axis}"><label for="${id}-size-${axis}">Input ${AXIS_NAMES[3][axis]}</label>` +
      numberInput(id, `size-${axis}`, LIMITS.size, true) + `<span class="ux-help" id="${id}-size-${axis}-help">1 to ${LIMITS.size[1]}</span></div>`).join("");
    return `<form class="ux-controls" aria-label="Explorer settings" novalidate>` +
      field(id, "operation", "Operation", select(id, "operation", operations)) +
      field(id, "rank", "Dimensions", select(id, "rank", { 1: "1D", 2: "2D", 3: "3D" })) +
      sizeFields +
      field(id, "kernel", "Kernel size", numberInput(id, "kernel", LIMITS.kernel, true), `1 to ${LIMITS.kernel[1]}`) +
      field(id, "stride", "Stride", numberInput(id, "stride", LIMITS.stride, true), `1 to ${LIMITS.stride[1]}`) +
      field(id, "padding", "Padding", select(id, "padding", { valid: "valid", same: "same" })) +
      field(id, "outputPadding", "Output padding", select(id, "outputPadding", { none: "not set", 0: "0", 1: "1", 2: "2" })) +
      field(id, "kernelValues", "Kernel values", select(id, "kernelValues", KERNEL_VALUES)) +
      field(id, "inputValues", "Input values", select(id, "inputValues", INPUT_VALUES)) +
      field(id, "seed", "Seed", numberInput(id, "seed", LIMITS.seed, true), `0 to ${LIMITS.seed[1]}`) +
      `<p class="ux-message" id="${id}-message" role="status" aria-live="polite"></p></form>`;
  }

  const SECTIONS = {
    equivalent: "Equivalent convolution: zeros inserted, padded, kernel turned",
    checkerboard: "Checkerboard: stamp counts and polyphase sums on a constant input",
    stamps: "Step through the stamps",
  };

  function widgetHtml(id) {
    return `<p class="ux-title" id="${id}-title">Upsampling explorer</p>` + controlsHtml(id) +
      `<div class="ux-call" data-part="call"></div>` +
      `<div class="ux-panels" data-part="main"></div>` +
      Object.entries(SECTIONS).map(([name, title]) =>
        `<details class="ux-section" data-section="${name}"><summary>${escapeHtml(title)}</summary><div data-part="${name}"></div></details>`).join("");
  }

  function parseInteger(text, range) {
    if (!/^\s*\d+\s*$/.test(text)) return null;
    const value = Number(text);
    return value >= range[0] && value <= range[1] ? value : null;
  }

  /** Checks a state (e.g. a preset) and fills in what is missing; throws on a bad one. */
  function normalise(state) {
    const s = Object.assign({}, DEFAULT_STATE, state);
    if (!OPERATIONS[s.operation]) throw new Error(`unknown operation ${s.operation}`);
    if (!OPERATIONS[s.operation].ranks.includes(s.rank)) throw new Error(`${s.operation} has no ${s.rank}D form`);
    const inRange = (v, r) => Number.isInteger(v) && v >= r[0] && v <= r[1];
    if (!Array.isArray(s.sizes) || s.sizes.length !== s.rank || !s.sizes.every((n) => inRange(n, LIMITS.size))) throw new Error("bad input sizes");
    if (!inRange(s.kernel, LIMITS.kernel) || !inRange(s.stride, LIMITS.stride) || !inRange(s.seed, LIMITS.seed)) throw new Error("bad kernel, stride or seed");
    if (!["valid", "same"].includes(s.padding) || !OUTPUT_PADDINGS.includes(s.outputPadding)) throw new Error("bad padding");
    if (!KERNEL_VALUES[s.kernelValues] || !INPUT_VALUES[s.inputValues]) throw new Error("bad values");
    return s;
  }

  class Explorer {
    constructor(root, state, open) {
      this.root = root;
      this.id = `ux${++instances}`;
      this.state = normalise(state);
      this.step = null;
      root.classList.add("ux");
      root.setAttribute("role", "group");
      root.innerHTML = widgetHtml(this.id);
      root.setAttribute("aria-labelledby", `${this.id}-title`);
      this.form = root.querySelector("form");
      this.parts = {};
      root.querySelectorAll("[data-part]").forEach((el) => { this.parts[el.dataset.part] = el; });
      for (const name of open || []) {
        const details = root.querySelector(`details[data-section="${name}"]`);
        if (details) details.open = true;
      }
      this.writeControls();
      this.form.addEventListener("submit", (event) => event.preventDefault());
      // Selects, number fields and their arrow keys all fire "input" (no "change" needed).
      this.form.addEventListener("input", (event) => this.onInput(event));
      root.addEventListener("toggle", () => this.markScrollBoxes(), true);
      root.addEventListener("click", (event) => this.onClick(event));
      root.addEventListener("input", (event) => {
        if (event.target.name === "step") { this.step = Number(event.target.value); this.renderStamps(); }
      });
      window.addEventListener("resize", () => this.markScrollBoxes());
      this.render();
    }

    control(name) { return this.form.elements.namedItem(name); }

    /** Shows the state in the controls, and only the controls that apply. */
    writeControls() {
      const s = this.state, op = OPERATIONS[s.operation];
      this.control("operation").value = s.operation;
      for (const option of this.control("rank").options) option.disabled = !op.ranks.includes(Number(option.value));
      this.control("rank").value = String(s.rank);
      const names = AXIS_NAMES[s.rank];
      for (let axis = 0; axis < 3; axis++) {
        const wrapper = this.form.querySelector(`[data-field="size-${axis}"]`);
        wrapper.hidden = axis >= s.rank;
        if (axis < s.rank) {
          wrapper.querySelector("label").textContent = `Input ${names[axis]}`;
          this.control(`size-${axis}`).value = String(s.sizes[axis]);
        }
      }
      this.setLabel("kernel", s.operation === "unpool" ? "Pool window" : "Kernel size", !op.kernel);
      this.control("kernel").value = String(s.kernel);
      this.setLabel("stride", op.kernel ? (s.operation === "unpool" ? "Pool stride" : "Stride") : "Size factor", false);
      this.control("stride").value = String(s.stride);
      this.setLabel("padding", "Padding", !op.padding);
      this.control("padding").value = s.padding;
      this.setLabel("outputPadding", "Output padding", !op.outputPadding);
      this.control("outputPadding").value = s.outputPadding === null ? "none" : String(s.outputPadding);
      const kernelValues = op.kernel && s.operation !== "unpool";
      this.setLabel("kernelValues", "Kernel values", !kernelValues);
      this.control("kernelValues").value = s.kernelValues;
      this.control("inputValues").value = s.inputValues;
      this.setLabel("seed", "Seed", !(s.inputValues === "random" || (kernelValues && s.kernelValues === "random")));
      this.control("seed").value = String(s.seed);
    }

    setLabel(name, text, hidden) {
      const wrapper = this.form.querySelector(`[data-field="${name}"]`);
      wrapper.querySelector("label").textContent = text;
      wrapper.hidden = hidden;
    }

    /** Reads the controls; a bad number leaves the state as it was and says why. */
    onInput(event) {
      const target = event.target;
      if (!target.name || target.name === "step" || !this.form.contains(target)) return;
      const s = Object.assign({}, this.state, { sizes: this.state.sizes.slice() });
      const name = target.name;
      let problem = null;
      const integer = (range, what) => {
        const value = parseInteger(target.value, range);
        if (value === null) problem = `${what} must be a whole number from ${range[0]} to ${range[1]}.`;
        return value;
      };
      if (name === "operation") {
        s.operation = target.value;
        const ranks = OPERATIONS[s.operation].ranks;
        if (!ranks.includes(s.rank)) s.rank = ranks.includes(2) ? 2 : ranks[0];
      } else if (name === "rank") s.rank = Number(target.value);
      else if (name.startsWith("size-")) {
        const value = integer(LIMITS.size, `Input ${AXIS_NAMES[s.rank][Number(name.slice(5))]}`);
        if (value !== null) s.sizes[Number(name.slice(5))] = value;
      } else if (name === "kernel" || name === "stride" || name === "seed") {
        const value = integer(LIMITS[name], { kernel: "The kernel size", stride: "The stride", seed: "The seed" }[name]);
        if (value !== null) s[name] = value;
      } else if (name === "outputPadding") s.outputPadding = target.value === "none" ? null : Number(target.value);
      else s[name] = target.value;
      target.setAttribute("aria-invalid", problem ? "true" : "false");
      const message = this.root.querySelector(".ux-message");
      if (problem) { message.textContent = problem + " The drawing shows the last valid settings."; return; }
      message.textContent = "";
      if (s.rank !== this.state.rank) {
        // Keep the sizes of the axes both ranks have; new axes start like the last one.
        const old = this.state.sizes;
        s.sizes = Array.from({ length: s.rank }, (_, a) => old[old.length - s.rank + a] ?? old[0]);
      }
      const rerank = s.rank !== this.state.rank || s.operation !== this.state.operation;
      this.state = normalise(s);
      this.step = null;
      if (rerank || name === "kernelValues" || name === "inputValues") this.writeControls();
      this.render();
    }

    onClick(event) {
      const button = event.target.closest("button[data-step]");
      if (!button || !this.result || !this.result.stamps) return;
      const count = this.result.stamps.count;
      const current = this.step === null ? count : this.step;
      this.step = Math.max(0, Math.min(count, current + Number(button.dataset.step)));
      this.renderStamps();
      const slider = this.root.querySelector('input[name="step"]');
      if (slider) slider.value = String(this.step);
    }

    render() {
      const started = performance.now();
      const r = (this.result = compute(this.state));
      const s = this.state, id = this.id;
      this.root.dataset.state = JSON.stringify(s);
      this.root.dataset.refused = r.refusal ? r.refusal.rule : "";

      // The Keras call, and the output shape or why Keras refuses.
      const inShape = tuple([1, ...s.sizes, 1]);
      let call = `<p class="ux-heading">The Keras 3 call</p><pre class="ux-code"><code>${escapeHtml(r.call.join("\n"))}</code></pre>`;
      if (r.refusal) {
        call += `<p class="ux-shape" aria-live="polite">input ${inShape} → <strong>refused</strong></p>` +
          `<p class="ux-refusal" data-rule="${r.refusal.rule}"><strong>Keras refuses this combination.</strong> ${escapeHtml(r.refusal.text)}</p>`;
      } else {
        const pooled = r.pooled ? `, pooled ${tuple([1, ...r.pooled.shape, 1])}` : "";
        call += `<p class="ux-shape" aria-live="polite">input ${inShape} → output <span data-shape="output">${tuple([1, ...r.output.shape, 1])}</span>${pooled}</p>`;
      }
      this.parts.call.innerHTML = call;

      const tooBig = s.rank === 3 && r.output && r.output.data.length > MAX_VOXELS;
      this.root.dataset.values = r.refusal || tooBig ? "hidden" : "shown";
      let main = "";
      if (s.rank === 3) {
        const boxes = [{ kind: "input", label: "input", shape: s.sizes }];
        if (r.kernel) boxes.push({ kind: "kernel", label: "kernel", shape: r.kernel.shape });
        if (r.pooled) boxes.push({ kind: "kernel", label: "pooled", shape: r.pooled.shape });
        if (r.output) boxes.push({ kind: "output", label: "output", shape: r.output.shape });
        main += `<figure class="ux-panel ux-wide" data-view="shapes"><figcaption>Shapes in 3D (depth, height, width)</figcaption>` +
          `<div class="ux-scroll" role="region" aria-label="Shapes in 3D">${shapesSvg(boxes)}</div></figure>`;
      }
      if (tooBig) {
        main += `<p class="ux-note" data-part="too-big">Values are drawn for outputs of up to ${MAX_VOXELS} voxels; this one has ` +
          `${r.output.data.length} (${dims(r.output.shape)}). Make the input, kernel or stride smaller to see them.</p>`;
      } else {
        main += panel(id, "input", "Input", r.input);
        if (r.kernel) main += panel(id, "kernel", "Kernel", r.kernel);
        if (r.pooled) main += panel(id, "pooled", "Max pooled", r.pooled);
        if (r.output) main += panel(id, "output", "Output", r.output);
      }
      this.parts.main.innerHTML = main;

      this.renderEquivalent(tooBig);
      this.renderCheckerboard(tooBig);
      this.renderStamps(tooBig);
      this.markScrollBoxes();
      this.root.dataset.renderMs = (performance.now() - started).toFixed(2);
      this.root.dispatchEvent(new CustomEvent("explorer-rendered", { bubbles: true }));
    }

    section(name, applies) {
      const details = this.root.querySelector(`details[data-section="${name}"]`);
      details.hidden = !applies;
      return this.parts[name];
    }

    renderEquivalent(tooBig) {
      const r = this.result, s = this.state, id = this.id;
      const target = this.section("equivalent", !r.refusal && !tooBig && (s.operation === "conv-transpose" || s.operation === "conv"));
      if (target.closest("details").hidden) { target.innerHTML = ""; return; }
      const summary = target.closest("details").querySelector("summary");
      const roleClass = (roles) => (flat) => ["ux-pad", "ux-inserted", "ux-source"][roles[flat]];
      const legend = `<p class="ux-legend"><span class="ux-key ux-source">input pixel</span> <span class="ux-key ux-inserted">inserted zero</span> <span class="ux-key ux-pad">padding zero</span></p>`;
      if (s.operation === "conv") {
        summary.textContent = "Padding: the grid the kernel reads";
        const e = r;
        const skipped = e.paddingBefore.some((b) => b < 0);
        target.innerHTML = `<p>The kernel reads this grid with stride ${s.stride}: the input with ` +
          `zeros around it, per axis ${e.paddingBefore.join(", ")} before and ${e.paddingAfter.join(", ")} after (${s.padding === "same" ? "TensorFlow puts the odd one after" : "none with padding=\"valid\""}).` +
          (skipped ? " A negative number is a pixel the windows never reach. With a 1-pixel kernel, stride 3 and 3 pixels, " +
            "TensorFlow's own CPU kernel for Conv3D (the one this course runs, with oneDNN off) centres the window on the middle " +
            "pixel. Conv1D, Conv2D, the oneDNN kernel and the gradient of Conv3D start at the first pixel instead, as TensorFlow " +
            "documents: in this corner the result depends on how TensorFlow runs." : "") + "</p>" +
          `<div class="ux-panels">${panel(id, "padded", "Padded input", e.padded, { classOf: roleClass(e.paddedRoles) })}</div>` + legend;
        return;
      }
      summary.textContent = SECTIONS.equivalent;
      const e = r.equivalent;
      target.innerHTML = `<p>The same output from an ordinary convolution with stride 1: put ${plural(s.stride - 1, "zero")} between ` +
        `neighbouring input pixels, then zeros around them, per axis ${e.before.join(", ")} before and ${e.after.join(", ")} after ` +
        `(kernel size − 1 = ${s.kernel - 1} for the full result; padding="same" and output_padding move the borders), and slide the kernel ` +
        `turned by 180 degrees over the grid.</p>` +
        `<div class="ux-panels">${panel(id, "equivalent", "Zeros inserted and padded", e.grid, { classOf: roleClass(e.roles) })}` +
        `${panel(id, "flipped", "Kernel turned by 180°", e.flipped)}</div>` + legend;
    }

    renderCheckerboard(tooBig) {
      const r = this.result, s = this.state, id = this.id;
      const applies = !r.refusal && !tooBig && (s.operation === "conv-transpose" || s.operation === "conv");
      const target = this.section("checkerboard", applies);
      if (!applies) { target.innerHTML = ""; return; }
      const summary = target.closest("details").querySelector("summary");
      if (s.operation === "conv") {
        summary.textContent = "Overlap: how often each input pixel is read";
        target.innerHTML = `<p>Each input pixel is read by as many windows as cover it. The gradient of a strided convolution ` +
          `flows back through the same windows, so uneven counts here give a checkerboard in the gradient.</p>` +
          `<div class="ux-panels">${panel(id, "reads", "Windows reading each input pixel", r.reads)}</div>`;
        return;
      }
      summary.textContent = SECTIONS.checkerboard;
      const label = (phase) => (phase.length === 1 ? String(phase[0] + 1) : `(${phase.map((p) => p + 1).join(", ")})`);
      const interiorValues = new Map();
      // Distinct up to rounding noise (1e-6), not up to the two decimals the cells show.
      r.interior.forEach((inside, o) => { if (inside) interiorValues.set(Math.round(r.constant.data[o] * 1e6), r.constant.data[o]); });
      const distinct = interiorValues.size;
      const period = s.stride;
      let verdict;
      if (distinct === 0) verdict = "No output pixel is far enough from the borders to receive every tap of its phase: make the input larger.";
      else if (distinct === 1) verdict = `Every interior pixel takes the same value, ${format([...interiorValues.values()][0])}: on a constant input this kernel draws no checkerboard.`;
      else verdict = `Interior pixels take ${distinct} different values: a pattern that repeats every ${period} pixels, the checkerboard.`;
      let rows = "";
      for (const p of r.phases) rows += `<tr><th scope="row">${label(p.phase)}</th><td>${p.taps}</td><td>${format(p.sum)}</td></tr>`;
      target.innerHTML = `<p>Every input pixel stamps the kernel onto the output, ${plural(s.stride, "pixel")} further on per input pixel. ` +
        `An output pixel's <em>phase</em> is its position modulo the stride; the kernel taps that land on one phase form its sub-kernel. ` +
        `On a constant input c every interior pixel of a phase equals c × (sum of its sub-kernel) (plus the bias, none here). ` +
        `Equal stamp counts are not enough: the sums must be equal.</p>` +
        `<div class="ux-panels">${panel(id, "overlap", "Stamps covering each pixel", r.overlap)}` +
        panel(id, "constant", "Output for an input of ones", r.constant, { classOf: (o) => (r.interior[o] ? "" : "ux-border") }) +
        `<figure class="ux-panel" data-table="phases"><figcaption id="${id}-phases-caption">Sub-kernel of each phase</figcaption>` +
        `<div class="ux-scroll" role="region" aria-labelledby="${id}-phases-caption"><table class="ux-phases"><thead><tr>` +
        `<th scope="col">phase (first pixel)</th><th scope="col">taps</th><th scope="col">sum</th></tr></thead><tbody>${rows}</tbody></table></div></figure></div>` +
        `<p class="ux-legend"><span class="ux-key ux-border">border pixel</span> (some of its taps fall outside the input)</p>` +
        `<p class="ux-verdict" data-distinct="${distinct}">${verdict}</p>`;
    }

    renderStamps(tooBig) {
      const r = this.result, s = this.state, id = this.id;
      const applies = !r.refusal && !(tooBig === undefined ? this.root.dataset.values === "hidden" : tooBig) && !!r.stamps;
      const target = this.section("stamps", applies);
      if (!applies) { target.innerHTML = ""; return; }
      const stamps = r.stamps, count = stamps.count;
      const t = this.step === null ? count : this.step;
      const sourceGrid = stamps.sourceGrid === "padded" ? r.padded : r.input;
      const sources = new Set(t > 0 ? stamps.source(t) : []);
      const targets = new Set(t > 0 ? stamps.target(t) : []);
      const partial = stamps.partial(t);
      let text;
      if (t === 0) text = `Nothing stamped yet. Step forward: each step adds one ${stamps.unit}.`;
      else {
        const where = (flat, shape) => `(${coordinates(flat, shape).map((c) => c + 1).join(", ")})`;
        if (s.operation === "conv") text = `Output pixel ${where(t - 1, r.output.shape)} = sum of the highlighted window of the padded input times the kernel = ${format(r.output.data[t - 1])}.`;
        else if (s.operation === "unpool") text = `Window ${t}: its maximum, ${format(r.pooled.data[t - 1])}, goes back where it was, ${where(r.switches[t - 1], s.sizes)}.`;
        else {
          const v = r.input.data[t - 1];
          const what = s.operation === "conv-transpose" ? `${format(v)} × the kernel` : s.operation === "nearest" ? `copies of ${format(v)}` : `${format(v)} × interpolation weights`;
          text = `Input pixel ${where(t - 1, s.sizes)} adds ${what} to the ${plural(targets.size, "highlighted output pixel")}.`;
        }
      }
      const scale = maxAbs(r.output);
      target.innerHTML = `<div class="ux-stepper"><button type="button" data-step="-1">Previous</button>` +
        `<label for="${id}-step">Stamps shown</label><input type="range" id="${id}-step" name="step" min="0" max="${count}" value="${t}">` +
        `<output for="${id}-step">${t} of ${count}</output><button type="button" data-step="1">Next</button></div>` +
        `<p class="ux-step-text" aria-live="polite">${escapeHtml(text)}</p><div class="ux-panels">` +
        panel(id, "step-source", stamps.sourceGrid === "padded" ? "Padded input" : "Input", sourceGrid, { classOf: (f) => (sources.has(f) ? "ux-current" : "") }) +
        panel(id, "step-output", `Output after ${t} of ${count}`, partial, { scale, classOf: (f) => (targets.has(f) ? "ux-current" : "") }) + "</div>";
      this.markScrollBoxes();
    }

    /** A box that scrolls must be reachable by keyboard (axe: scrollable-region-focusable).
        Measured in the next frame, once for any number of changes: measuring right after a
        redraw would force the browser to lay the page out once per change. */
    markScrollBoxes() {
      if (this.marking) return;
      this.marking = requestAnimationFrame(() => {
        this.marking = 0;
        this.root.querySelectorAll(".ux-scroll").forEach((box) => {
          if (box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1) box.tabIndex = 0;
          else box.removeAttribute("tabindex");
        });
        this.root.dataset.scrollBoxes = "marked";
      });
      this.root.dataset.scrollBoxes = "pending";
    }
  }

  /** Replaces every embed of the page (tools/explorer_embed.py writes them) by an explorer. */
  function mountAll() {
    document.querySelectorAll(".upsampling-explorer[data-state]").forEach((root) => {
      if (root.explorer) return;
      try {
        const preset = JSON.parse(root.dataset.state);
        root.explorer = new Explorer(root, preset.state, preset.open);
      } catch (error) {
        root.insertAdjacentHTML("beforeend", `<p class="ux-message">The explorer could not start: ${escapeHtml(error.message)}</p>`);
      }
    });
  }

  window.UpsamplingExplorer = { Explorer, compute, refusal, normalise, mountAll, LIMITS, OPERATIONS };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountAll);
  else mountAll();
})();
