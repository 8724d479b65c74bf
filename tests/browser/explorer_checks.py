"""The upsampling explorer held to the package's NumPy references and to Keras, through the page.

As a learner uses it: Playwright sets the explorer's visible controls (found by their labels)
and reads what the page draws, the grids (HTML tables), the Keras call, the output shape or
the refusal. Nothing here calls the explorer's JavaScript. What the page shows is compared with

* the NumPy references of ``upsampling_course.reference`` computed from the settings (and,
  for a random kernel or input, from the values the page shows, which are exact);
* Keras, twice: the call the page displays, executed as shown on the input and kernel it
  draws, and the layer built here from the settings. The page must refuse exactly the
  combinations that Keras refuses.

Used by tests/browser/test_explorer.py (a fixed sample, in CI) and by
``python -m benchmarks.explorer_whole_space`` (every combination, on demand).
"""
from __future__ import annotations

import functools
import itertools
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from upsampling_course import reference

# The explorer's ranges (explorer/upsampling-explorer.js, LIMITS and OUTPUT_PADDINGS).
SIZES, KERNELS, STRIDES = range(1, 6), range(1, 6), range(1, 4)
PADDINGS = ("valid", "same")
OUTPUT_PADDINGS = (None, 0, 1, 2)
RANKS = {"conv-transpose": (1, 2, 3), "conv": (1, 2, 3), "nearest": (1, 2, 3), "bilinear": (2,), "unpool": (2, 3)}
KERNEL_VALUES = ("random", "ones", "random", "counting", "random", "bilinear")  # cycled
INPUT_VALUES = ("random", "counting", "random", "ones")  # cycled
#: 3D values are drawn only for outputs of at most this many voxels (MAX_VOXELS in the script).
MAX_VOXELS = 512
AXIS_NAMES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}
OPERATION_LABELS = {
    "conv-transpose": "Transposed convolution", "conv": "Convolution", "nearest": "Nearest upsampling",
    "bilinear": "Bilinear upsampling", "unpool": "Max pooling, then unpooling",
}
#: The cells show at most two decimals.
DISPLAY_TOLERANCE = 0.005 + 1e-9


@dataclass(frozen=True)
class Settings:
    """One combination of the explorer's controls; None where a control does not apply."""

    operation: str
    rank: int
    sizes: tuple[int, ...]
    stride: int
    kernel: int | None = None
    padding: str | None = None
    output_padding: int | None = None
    kernel_values: str | None = None
    input_values: str = "random"
    seed: int = 0

    @property
    def uses_kernel_values(self) -> bool:
        return self.operation in ("conv-transpose", "conv")

    def state(self) -> dict:
        """The explorer's own description of these settings (its root's ``data-state``)."""
        state = {"operation": self.operation, "rank": self.rank, "sizes": list(self.sizes),
                 "stride": self.stride, "inputValues": self.input_values}
        if self.kernel is not None:
            state["kernel"] = self.kernel
        if self.padding is not None:
            state["padding"] = self.padding
        if self.operation == "conv-transpose":
            state["outputPadding"] = self.output_padding
        if self.uses_kernel_values:
            state["kernelValues"] = self.kernel_values
        if self.input_values == "random" or self.kernel_values == "random":
            state["seed"] = self.seed
        return state

    @classmethod
    def from_state(cls, state: dict) -> "Settings":
        """Settings from an explorer state (a preset of explorer/presets.json)."""
        operation = state["operation"]
        kernel_op = operation in ("conv-transpose", "conv", "unpool")
        return cls(
            operation=operation, rank=state["rank"], sizes=tuple(state["sizes"]), stride=state["stride"],
            kernel=state["kernel"] if kernel_op else None,
            padding=state["padding"] if kernel_op else None,
            output_padding=state.get("outputPadding") if operation == "conv-transpose" else None,
            kernel_values=state["kernelValues"] if operation in ("conv-transpose", "conv") else None,
            input_values=state["inputValues"], seed=state.get("seed", 0),
        )


def whole_space() -> Iterator[Settings]:
    """Every combination of the explorer's ranges, refused ones included.

    Ordered so that consecutive combinations differ in few controls. The kernel and input
    values cycle through their kinds (random most often: it catches the most).
    """
    count = itertools.count()
    for rank in (1, 2, 3):
        for operation, ranks in RANKS.items():
            if rank not in ranks:
                continue
            for sizes in itertools.product(SIZES, repeat=rank):
                if operation in ("nearest", "bilinear"):
                    for stride in STRIDES:
                        i = next(count)
                        yield Settings(operation, rank, sizes, stride, input_values=INPUT_VALUES[i % 4])
                    continue
                for kernel in KERNELS:
                    i = next(count)
                    kernel_values = KERNEL_VALUES[i % 6] if operation != "unpool" else None
                    input_values = INPUT_VALUES[i % 4] if operation != "unpool" else "random"
                    for stride, padding in itertools.product(STRIDES, PADDINGS):
                        paddings = OUTPUT_PADDINGS if operation == "conv-transpose" else (None,)
                        for output_padding in paddings:
                            yield Settings(operation, rank, sizes, stride, kernel, padding, output_padding,
                                           kernel_values, input_values)


#: How many combinations of each (operation, rank) the CI sample draws.
SAMPLE_QUOTAS = {
    ("conv-transpose", 1): 25, ("conv-transpose", 2): 45, ("conv-transpose", 3): 30,
    ("conv", 1): 15, ("conv", 2): 25, ("conv", 3): 20,
    ("nearest", 1): 8, ("nearest", 2): 10, ("nearest", 3): 12,
    ("bilinear", 2): 15, ("unpool", 2): 20, ("unpool", 3): 15,
}


def ci_sample(seed: int = 2026) -> list[Settings]:
    """A fixed sample of the whole space, drawn per (operation, rank), in the space's order."""
    space = list(whole_space())
    chosen: set[Settings] = set()
    rng = random.Random(seed)
    for (operation, rank), quota in SAMPLE_QUOTAS.items():
        group = [s for s in space if s.operation == operation and s.rank == rank]
        chosen.update(rng.sample(group, quota))
    return [s for s in space if s in chosen]


# Reading the page ------------------------------------------------------------------------------

#: One round trip: everything the explorer shows, as text, plus which controls are visible.
READ_EXPLORER = """(root) => {
  const text = (el) => (el ? el.textContent.trim() : null);
  const grids = {};
  for (const figure of root.querySelectorAll('[data-grid]')) {
    if (figure.closest('[hidden]')) continue;
    grids[figure.dataset.grid] = Array.from(figure.querySelectorAll('table')).map((table) =>
      Array.from(table.tBodies[0].rows).map((row) => Array.from(row.cells).filter((c) => c.tagName === 'TD')
        .map((c) => c.textContent.trim())));
  }
  const controls = {};
  for (const wrapper of root.querySelectorAll('.ux-field')) {
    if (wrapper.hidden) continue;
    const control = wrapper.querySelector('input, select');
    controls[wrapper.querySelector('label').textContent.trim()] = control.value;
  }
  const phases = Array.from(root.querySelectorAll('[data-table="phases"] tbody tr')).filter((row) => !row.closest('[hidden]'))
    .map((row) => Array.from(row.cells).map((cell) => cell.textContent.trim()));
  const refusal = root.querySelector('.ux-refusal');
  const verdict = root.querySelector('.ux-verdict');
  return {
    controls, grids, phases,
    code: text(root.querySelector('.ux-code')),
    shape: text(root.querySelector('[data-shape="output"]')),
    refusal: refusal ? {rule: refusal.dataset.rule, text: text(refusal)} : null,
    tooBig: !!root.querySelector('[data-part="too-big"]'),
    verdict: verdict ? text(verdict) : null,
    distinct: verdict ? Number(verdict.dataset.distinct) : null,
    message: text(root.querySelector('.ux-message')),
  };
}"""


#: Sets labelled controls in order; refuses a control that is missing, hidden or disabled.
SET_CONTROLS = """(root, changes) => {
  for (const [label, value] of changes) {
    const control = Array.from(root.querySelectorAll('label'))
      .filter((l) => l.textContent.trim() === label && l.control && l.control.offsetParent !== null)
      .map((l) => l.control)[0];
    if (!control || control.disabled) throw new Error(`no usable control labelled ${label}`);
    if (control.tagName === 'SELECT') {
      const option = Array.from(control.options).find((o) => o.value === value);
      if (!option || option.disabled) throw new Error(`${label} offers no ${value}`);
    }
    if (control.value === value) continue;
    control.value = value;
    control.dispatchEvent(new Event('input', {bubbles: true}));
    control.dispatchEvent(new Event('change', {bubbles: true}));
  }
}"""


def parse_number(text: str) -> float:
    return float(text.replace("\u2212", "-"))


def grid_array(tables: list[list[list[str]]], rank: int) -> np.ndarray:
    """A grid's tables (3D: one per depth slice) as an array of the grid's rank."""
    values = np.array([[[parse_number(cell) for cell in row] for row in table] for table in tables], dtype=float)
    if rank == 1:
        return values[0, 0]
    return values[0] if rank == 2 else values


@dataclass
class Rendered:
    """What the explorer showed for one combination."""

    controls: dict[str, str]
    code: str
    shape: str | None
    refusal: dict | None
    too_big: bool
    grids: dict[str, np.ndarray] = field(default_factory=dict)
    phases: list[list[str]] = field(default_factory=list)
    verdict: str | None = None
    distinct: int | None = None
    message: str | None = None


class ExplorerPage:
    """One explorer on a loaded page, driven through its labelled controls."""

    def __init__(self, page, root_selector: str = ".upsampling-explorer"):
        self.page = page
        self.root = page.locator(root_selector).first
        self.root.locator("form.ux-controls").wait_for()

    def control(self, label: str):
        """The visible control with this label (the fields of unused axes are hidden)."""
        return self.root.get_by_label(label, exact=True).filter(visible=True)

    def settled(self) -> None:
        """Wait for the frame in which the explorer marks its scrolling boxes focusable."""
        self.root.locator("xpath=self::*[@data-scroll-boxes='marked']").wait_for()

    def open_sections(self) -> None:
        """Open every section (a learner clicks its summary); they stay open."""
        for section in self.root.locator("details.ux-section").all():
            if section.is_visible() and section.get_attribute("open") is None:
                section.locator("summary").click()

    def apply(self, settings: Settings) -> None:
        """Set the controls to ``settings`` in the order a learner would (operation first: it
        decides which controls exist), each found by its visible label, given its new value
        and its ``input`` event, as Playwright's ``fill`` and ``select_option`` do; in one
        round trip to the page, which keeps the sample's run short."""
        self.root.evaluate(SET_CONTROLS, list(expected_controls(settings).items()))

    def read(self, rank: int) -> Rendered:
        return self._rendered(self.root.evaluate(READ_EXPLORER), rank)

    def show(self, settings: Settings) -> Rendered:
        """``apply`` then ``read``, in one round trip to the page."""
        raw = self.root.evaluate(f"(root, changes) => {{ ({SET_CONTROLS})(root, changes); return ({READ_EXPLORER})(root); }}",
                                 list(expected_controls(settings).items()))
        return self._rendered(raw, settings.rank)

    @staticmethod
    def _rendered(raw: dict, rank: int) -> Rendered:
        grids = {name: grid_array(tables, rank) for name, tables in raw["grids"].items()}
        return Rendered(raw["controls"], raw["code"] or "", raw["shape"], raw["refusal"], raw["tooBig"], grids,
                        raw["phases"], raw["verdict"], raw["distinct"], raw["message"])


# What the page should show ---------------------------------------------------------------------

def expected_controls(settings: Settings) -> dict[str, str]:
    """The visible controls and the values they must show."""
    shown = {"Operation": settings.operation, "Dimensions": str(settings.rank)}
    for axis, size in enumerate(settings.sizes):
        shown[f"Input {AXIS_NAMES[settings.rank][axis]}"] = str(size)
    if settings.kernel is not None:
        shown["Pool window" if settings.operation == "unpool" else "Kernel size"] = str(settings.kernel)
    shown[{"unpool": "Pool stride", "nearest": "Size factor", "bilinear": "Size factor"}.get(settings.operation, "Stride")] = str(settings.stride)
    if settings.padding is not None:
        shown["Padding"] = settings.padding
    if settings.operation == "conv-transpose":
        shown["Output padding"] = "none" if settings.output_padding is None else str(settings.output_padding)
    if settings.uses_kernel_values:
        shown["Kernel values"] = settings.kernel_values
    shown["Input values"] = settings.input_values
    if settings.input_values == "random" or settings.kernel_values == "random":
        shown["Seed"] = str(settings.seed)
    return shown


def tent(size: int, stride: int) -> np.ndarray:
    """The bilinear kernel's 1D weights: a tent of half-width ``stride`` centred on the kernel."""
    return np.maximum(0.0, 1.0 - np.abs(np.arange(size) - (size - 1) / 2) / stride)


def expected_kernel(settings: Settings, shown: np.ndarray | None) -> np.ndarray:
    shape = (settings.kernel,) * settings.rank
    if settings.kernel_values == "ones":
        return np.ones(shape)
    if settings.kernel_values == "counting":
        return np.arange(1, math.prod(shape) + 1, dtype=float).reshape(shape)
    if settings.kernel_values == "bilinear":
        weights = tent(settings.kernel, settings.stride)
        return np.prod(np.meshgrid(*([weights] * settings.rank), indexing="ij"), axis=0)
    return shown  # random: the page's values, checked to be tenths in [-1, 1]


def expected_input(settings: Settings, shown: np.ndarray) -> np.ndarray:
    if settings.input_values == "ones":
        return np.ones(settings.sizes)
    if settings.input_values == "counting":
        return np.arange(1, math.prod(settings.sizes) + 1, dtype=float).reshape(settings.sizes)
    return shown  # random: whole numbers 0-9, checked below


def correlate_valid(image: np.ndarray, kernel: np.ndarray, stride: int) -> np.ndarray:
    """Keras' convolution (no flip, 'valid') of any rank, from the 2D reference ``conv2d_valid``."""
    if image.ndim == 1:
        return reference.conv2d_valid(image[None, :], kernel[None, :], (1, stride))[0]
    if image.ndim == 2:
        return reference.conv2d_valid(image, kernel, (stride, stride))
    depth = (image.shape[0] - kernel.shape[0]) // stride + 1
    return np.stack([
        sum(reference.conv2d_valid(image[z * stride + dz], kernel[dz], (stride, stride)) for dz in range(kernel.shape[0]))
        for z in range(depth)
    ])


def interior_mask(settings: Settings, out_shape: tuple[int, ...]) -> tuple[np.ndarray, tuple[int, ...]]:
    """Output pixels of a transposed convolution that every tap of their phase reaches from an
    existing input pixel, and the crop offset per axis (Keras: none for 'valid', half the
    excess for 'same', as in ``reference.conv_transpose``)."""
    k, s = settings.kernel, settings.stride
    starts = tuple(max((n - 1) * s + k - o, 0) // 2 if settings.padding == "same" else 0
                   for n, o in zip(settings.sizes, out_shape))
    axes = []
    for n, o, start in zip(settings.sizes, out_shape, starts):
        axes.append(np.array([all(0 <= (p + start - t) // s < n for t in range(k) if (p + start - t) % s == 0)
                              for p in range(o)]))
    return functools.reduce(np.logical_and.outer, axes), starts


class KerasOracle:
    """Keras' answers: the page's displayed call executed as shown, and the layer built from
    the settings. TensorFlow is imported on first use."""

    def __init__(self):
        import upsampling_course as uc

        self.keras = uc.setup_keras(seed=0)
        self.calls = 0
        # The explorer follows TensorFlow as the course runs it, with oneDNN off
        # (upsampling_course sets TF_ENABLE_ONEDNN_OPTS=0 before TensorFlow is imported).
        # One corner tells the kernels apart: a 1x1x1 Conv3D, stride 3, 'same', on 3 pixels
        # reads the middle pixel with TensorFlow's own kernel and the first with oneDNN's.
        probe = self.keras.layers.Conv3D(1, 1, strides=3, padding="same", use_bias=False, kernel_initializer="ones")
        middle = float(np.asarray(probe(np.arange(3, dtype="float32").reshape(1, 1, 1, 3, 1))).ravel()[0])
        if middle != 1.0:
            raise RuntimeError("TensorFlow runs with oneDNN on here: import upsampling_course before TensorFlow, "
                               "or set TF_ENABLE_ONEDNN_OPTS=0 (the explorer follows the course's setting)")

    def _tidy(self):
        self.calls += 1
        if self.calls % 500 == 0:
            self.keras.backend.clear_session()

    def run_displayed(self, code: str, x: np.ndarray, kernel: np.ndarray | None):
        """``(refused, y)``: the page's code run on ``x`` (and ``kernel``) as the page shows it."""
        self._tidy()
        namespace = {"keras": self.keras, "np": np, "x": x[None, ..., None].astype("float32")}
        if kernel is not None:
            namespace["kernel"] = kernel.astype("float32")
        try:
            exec(compile(code, "<explorer call>", "exec"), namespace)
        except Exception:  # noqa: BLE001 - any error is Keras refusing the call
            return True, None
        if "pooled" in namespace and 0 in tuple(namespace["pooled"].shape):
            return True, None  # TensorFlow pooled to an empty map: nothing to unpool
        return False, np.asarray(namespace["y"])[0, ..., 0]

    def run_settings(self, settings: Settings, x: np.ndarray, kernel: np.ndarray | None):
        """``(refused, y)`` for the layer built here from the settings."""
        self._tidy()
        layers, r = self.keras.layers, settings.rank
        batch = x[None, ..., None].astype("float32")
        try:
            if settings.operation in ("conv-transpose", "conv"):
                cls = getattr(layers, f"Conv{r}DTranspose" if settings.operation == "conv-transpose" else f"Conv{r}D")
                extra = {"output_padding": settings.output_padding} if settings.operation == "conv-transpose" else {}
                layer = cls(1, settings.kernel, strides=settings.stride, padding=settings.padding, use_bias=False, **extra)
                layer.build(batch.shape)
                layer.set_weights([kernel.reshape(kernel.shape + (1, 1)).astype("float32")])
                y = layer(batch)
            elif settings.operation == "nearest":
                y = getattr(layers, f"UpSampling{r}D")(size=settings.stride)(batch)
            elif settings.operation == "bilinear":
                y = layers.UpSampling2D(size=settings.stride, interpolation="bilinear")(batch)
            else:
                from upsampling_course import layers as course_layers

                pool = getattr(course_layers, f"MaxPoolingWithArgmax{r}D")(
                    pool_size=settings.kernel, strides=settings.stride, padding=settings.padding)
                pooled, switches = pool(batch)
                if 0 in tuple(pooled.shape):
                    return True, None
                y = getattr(course_layers, f"MaxUnpooling{r}D")()([pooled, switches, batch])
        except Exception:  # noqa: BLE001 - any error is Keras refusing the layer
            return True, None
        return False, np.asarray(y)[0, ..., 0]


def _close(a: np.ndarray, b: np.ndarray, tolerance: float = DISPLAY_TOLERANCE) -> bool:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= tolerance + 1e-6 * np.abs(b)))


def _first_difference(a, b) -> str:
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape:
        return f"shape {a.shape} instead of {b.shape}"
    index = np.unravel_index(np.argmax(np.abs(a - b)), a.shape)
    return f"at {tuple(int(i) for i in index)}: shows {a[index]:g}, expected {b[index]:g}"


def check(settings: Settings, shown: Rendered, oracle: KerasOracle) -> list[str]:
    """Every way the page differs from the references and Keras for ``settings`` (empty if none)."""
    problems: list[str] = []

    def expect(condition: bool, what: str) -> None:
        if not condition:
            problems.append(what)

    def expect_grid(name: str, expected: np.ndarray, tolerance: float = DISPLAY_TOLERANCE) -> None:
        grid = shown.grids.get(name)
        if grid is None:
            problems.append(f"no {name} grid")
        elif not _close(grid, expected, tolerance):
            problems.append(f"{name} grid: {_first_difference(grid, expected)}")

    expect(shown.controls == expected_controls(settings), f"controls show {shown.controls}")
    if shown.message:
        problems.append(f"message: {shown.message}")
    x_shown = shown.grids.get("input")
    k_shown = shown.grids.get("kernel")
    # Inputs for Keras: from the page when it draws them, else recomputed (3D too big to draw,
    # or refused: a random input is then irrelevant to the refusal).
    x = expected_input(settings, x_shown if x_shown is not None else np.zeros(settings.sizes))
    kernel = None
    if settings.uses_kernel_values:
        kernel = expected_kernel(settings, k_shown if k_shown is not None else np.zeros((settings.kernel,) * settings.rank))

    refused_by_settings, y_keras = oracle.run_settings(settings, x, kernel)
    refused_as_shown, y_shown_code = oracle.run_displayed(shown.code, x, kernel)
    expect(refused_as_shown == refused_by_settings,
           f"the displayed call {'raises' if refused_as_shown else 'runs'}, the layer built from the settings "
           f"{'raises' if refused_by_settings else 'runs'}")
    if refused_by_settings:
        expect(shown.refusal is not None and len(shown.refusal["text"]) > 40,
               "Keras refuses this combination, the page does not say so")
        return problems
    if shown.refusal is not None:
        problems.append(f"the page refuses ({shown.refusal['rule']}) what Keras accepts")
        return problems

    out_shape = tuple(y_keras.shape)
    expect(shown.shape == str((1, *out_shape, 1)), f"output shape {shown.shape}, Keras gives {(1, *out_shape, 1)}")
    if y_shown_code is not None:
        expect(_close(y_shown_code, y_keras, 1e-4), "the displayed call computes another output than the layer")
    values_drawn = not (settings.rank == 3 and math.prod(out_shape) > MAX_VOXELS)
    expect(shown.too_big == (not values_drawn), "values drawn or not drawn against the size rule")
    if not values_drawn:
        expect("output" not in shown.grids, "3D output drawn although too big")
        return problems

    # The values the page draws.
    if x_shown is None:
        problems.append("no input grid")
        return problems
    expect_grid("input", x, 0)
    if settings.input_values == "random":
        expect(bool(np.all((x_shown >= 0) & (x_shown <= 9) & (x_shown == np.round(x_shown)))), "random input not whole numbers 0-9")
    if settings.uses_kernel_values:
        if k_shown is None:
            problems.append("no kernel grid")
            return problems
        expect_grid("kernel", kernel)
        if settings.kernel_values == "random":
            tenths = k_shown * 10
            expect(bool(np.all((np.abs(k_shown) <= 1) & (np.abs(tenths - np.round(tenths)) < 1e-9))),
                   "random kernel not tenths in [-1, 1]")
    expect_grid("output", y_keras, DISPLAY_TOLERANCE + 1e-4)
    batch = x[None, ..., None]
    rank, s, k = settings.rank, settings.stride, settings.kernel

    if settings.operation == "conv-transpose":
        weights = kernel[(...,) + (None, None)]
        ones_input, ones_kernel = np.ones_like(batch), np.ones_like(weights)
        transpose = lambda a, w: reference.conv_transpose(  # noqa: E731
            a, w, strides=s, padding=settings.padding, output_padding=settings.output_padding)[0, ..., 0]
        expect_grid("output", transpose(batch, weights))
        grid, flipped = shown.grids.get("equivalent"), shown.grids.get("flipped")
        if grid is None or flipped is None:
            problems.append("no equivalent-convolution grids")
        else:
            expect_grid("flipped", np.flip(kernel))
            expect(_close(correlate_valid(grid, np.flip(kernel), 1), y_keras, DISPLAY_TOLERANCE + 1e-4),
                   "the zero-inserted grid convolved with the turned kernel is not the output")
            nonzero = grid[grid != 0]
            expect(np.array_equal(np.sort(nonzero), np.sort(x[x != 0])), "the zero-inserted grid holds other values than the input")
        counts = transpose(ones_input, ones_kernel)
        constant = transpose(ones_input, weights)
        expect_grid("overlap", counts, 0)
        expect_grid("constant", constant)
        interior, starts = interior_mask(settings, out_shape)
        labels = {}
        for row in shown.phases:
            first = tuple(int(v) - 1 for v in row[0].strip("()").split(","))
            labels[first] = (int(row[1]), parse_number(row[2]))
        expect(len(labels) == math.prod(min(s, o) for o in out_shape), f"{len(labels)} phases listed")
        for index in zip(*np.nonzero(np.broadcast_to(interior, out_shape))):
            phase = tuple(int(i) % s for i in index)
            taps, total = labels.get(phase, (None, None))
            if taps != counts[index] or total is None or abs(total - constant[index]) > DISPLAY_TOLERANCE:
                problems.append(f"interior pixel {index}: phase {phase} lists {taps} taps, sum {total}; "
                                f"the constant input gives {counts[index]} stamps, value {constant[index]:g}")
                break
        inside = constant[np.broadcast_to(interior, out_shape)]
        distinct = len({round(float(v), 6) for v in inside})
        expect(shown.distinct == distinct, f"verdict counts {shown.distinct} interior values, the reference {distinct}")
    elif settings.operation == "conv":
        padded = shown.grids.get("padded")
        if padded is None:
            problems.append("no padded grid")
        else:
            expect(_close(correlate_valid(padded, kernel, s), y_keras, DISPLAY_TOLERANCE + 1e-4),
                   "the kernel read over the padded grid is not the output")
            if rank == 2:
                expect_grid("output", correlate_valid(padded, kernel, s))
        expect_grid("reads", _reads_per_input_pixel(oracle, settings, batch), 0)
    elif settings.operation == "nearest":
        expect_grid("output", reference.upsample_nearest(batch, (s,) * rank)[0, ..., 0], 0)
    elif settings.operation == "bilinear":
        expect_grid("output", reference.upsample_bilinear(batch, (s,) * rank)[0, ..., 0])
    elif settings.operation == "unpool":
        pooled, switches = reference.max_pool_with_argmax(batch, (k,) * rank, (s,) * rank, settings.padding)
        expect_grid("pooled", pooled[0, ..., 0], 0)
        expect_grid("output", reference.max_unpool(pooled, switches, batch.shape)[0, ..., 0], 0)
    return problems


def _reads_per_input_pixel(oracle: KerasOracle, settings: Settings, batch: np.ndarray) -> np.ndarray:
    """How many windows read each input pixel, from Keras' forward pass: a convolution with a
    kernel of ones applied to every one-hot image at once, each image's outputs summed.
    (Not from the gradient: in one corner TensorFlow's Conv3D and its gradient disagree on
    which pixel the window reads, see KerasOracle.)"""
    size = math.prod(settings.sizes)
    one_hot = np.eye(size, dtype="float32").reshape((size, *settings.sizes, 1))
    layer = getattr(oracle.keras.layers, f"Conv{settings.rank}D")(
        1, settings.kernel, strides=settings.stride, padding=settings.padding, use_bias=False, kernel_initializer="ones")
    outputs = np.asarray(layer(one_hot))
    return outputs.reshape(size, -1).sum(axis=1).reshape(settings.sizes)
