"""Draw the explanatory figures of the docs from minigan's own objects.

    python3 docs/figures/make_figures.py        # rewrites the three PNGs next to this file

- ``autograd_graph.png`` (docs/01_autograd.md): the graph of ``y = tanh(x * w).sum()``,
  found by walking ``y.creator -> inputs -> creator ...`` exactly as ``backward`` does, with
  the values of the forward pass and the gradients of the backward pass.
- ``im2col.png`` (docs/03_convolution.md): which pixels of a 4x4 image become which row of
  the matrix that ``minigan.kernels.im2col.im2col`` builds for a 2x2 kernel.
- ``batchnorm.png`` (docs/04_batchnorm.md): three channels before and after ``batch_norm``.

Nothing here is drawn by hand: if the engine changes, rerunning this script changes the
pictures. (The toy scatter plots and cat sample grids in this folder come from the scripts
in examples/, not from this one.)
"""
import pathlib
import sys
import textwrap

import matplotlib
matplotlib.use("Agg")  # files only: works on servers without a display
import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))  # run from a checkout without installing

import minigan as mg  # noqa: E402
from minigan.backend import np  # noqa: E402
from minigan.kernels.im2col import im2col  # noqa: E402  (one window per row)

FORWARD, BACKWARD = "#333333", "#c0392b"
TENSOR_FILL, FUNCTION_FILL = "#eaf2fb", "#fdf2e3"


def save(fig, name):
    path = HERE / name
    fig.savefig(path, dpi=100, bbox_inches="tight", pad_inches=0.1)
    plt.close(fig)
    print(f"wrote {path.relative_to(HERE.parent.parent)} ({path.stat().st_size // 1024} KB)")


# ---------------------------------------------------------------- (a) the autograd graph
def walk(root):
    """Every tensor and function behind ``root``, and the edges between them, found the way
    backward finds them: a tensor's ``creator``, then that function's ``inputs``."""
    nodes, edges, stack = {}, [], [root]
    while stack:
        t = stack.pop()
        if id(t) in nodes:
            continue
        nodes[id(t)] = t
        f = t.creator
        if f is None:  # a leaf: made by us, not by an op
            continue
        edges.append((f, t))
        if id(f) not in nodes:
            nodes[id(f)] = f
            for x in f.inputs:
                edges.append((x, f))
                stack.append(x)
    return list(nodes.values()), edges


def column(node):
    """Leaves in column 0; every node one column right of the furthest node it depends on."""
    if isinstance(node, mg.Tensor):
        return 0 if node.creator is None else column(node.creator) + 1
    return max(column(x) for x in node.inputs) + 1


def local_rule(function):
    """The backward half of the op's docstring, e.g. 'dx = dy * (1 - y^2)'."""
    doc = " ".join(type(function).__doc__.split())
    rule = doc.split(";", 1)[1] if ";" in doc else doc
    return textwrap.fill(rule.strip().rstrip("."), 24)


def numbers(t):
    rounded = (f"{v:.3f}".rstrip("0").rstrip(".") for v in t.numpy().ravel())
    return "[" + ", ".join(rounded) + "]"


def expression(t, names):
    """A name for every tensor: ours for leaves, else the op applied to its inputs' names."""
    if id(t) in names:
        return names[id(t)]
    f = t.creator
    return f"{type(f).__name__.lower()}({', '.join(expression(x, names) for x in f.inputs)})"


def autograd_graph():
    x = mg.tensor([1.0, -2.0, 3.0], requires_grad=True)
    w = mg.tensor([0.5, 0.25, -1.0], requires_grad=True)
    y = mg.tanh(x * w).sum()  # the README's example

    nodes, edges = walk(y)
    tensors = [n for n in nodes if isinstance(n, mg.Tensor)]
    # The gradient of y with respect to every tensor in the graph, intermediates included.
    grads = dict(zip(map(id, tensors), mg.grad(y, tensors, retain_graph=True)))
    names = {id(x): "x", id(w): "w", id(y): "y"}

    # Lay the graph out left to right; tensors that share a column keep their input order.
    slot = {id(i): k for n in nodes if isinstance(n, mg.Function) for k, i in enumerate(n.inputs)}
    by_column = {}
    for n in nodes:
        by_column.setdefault(column(n), []).append(n)
    place, box_w, box_h, step, gap = {}, 3.05, 1.3, 3.45, 1.55
    for c, members in by_column.items():
        members.sort(key=lambda n: slot.get(id(n), 0))
        for k, n in enumerate(members):
            place[id(n)] = (c * step, (len(members) - 1) / 2 * gap - k * gap)

    fig, ax = plt.subplots(figsize=(15.5, 4.0))
    for n in nodes:
        cx, cy = place[id(n)]
        if isinstance(n, mg.Tensor):
            label = (f"{expression(n, names)}, shape {n.shape}\n"
                     f"data {numbers(n)}")
            fill, grad_text = TENSOR_FILL, f"grad {numbers(grads[id(n)])}"
        else:
            label, fill, grad_text = f"{type(n).__name__}\n{local_rule(n)}", FUNCTION_FILL, None
        ax.add_patch(FancyBboxPatch((cx - box_w / 2, cy - box_h / 2), box_w, box_h,
                                    boxstyle="round,pad=0.05,rounding_size=0.15",
                                    fc=fill, ec="#888888"))
        ax.text(cx, cy + (0.18 if grad_text else 0.0), label, ha="center", va="center",
                fontsize=8, family="monospace", linespacing=1.6)
        if grad_text:
            ax.text(cx, cy - 0.33, grad_text, ha="center", va="center", fontsize=8,
                    family="monospace", color=BACKWARD)
    for src, dst in edges:  # forward: input -> function -> output; backward: the reverse
        (x0, y0), (x1, y1) = place[id(src)], place[id(dst)]
        lean = max(-0.35, min(0.35, 0.3 * (y0 - y1)))  # arrows from above land higher
        start, end = (x0 + box_w / 2 + 0.05, y0), (x1 - box_w / 2 - 0.05, y1 + lean)
        for offset, colour, a, b in ((0.12, FORWARD, start, end), (-0.12, BACKWARD, end, start)):
            ax.add_patch(FancyArrowPatch((a[0], a[1] + offset), (b[0], b[1] + offset),
                                         arrowstyle="-|>", mutation_scale=11, color=colour,
                                         lw=1.2, shrinkA=0, shrinkB=0))
    ax.text(-box_w / 2, 2.15, "forward: each op's output remembers the op (creator), "
            "the op remembers its inputs (black arrows)", color=FORWARD, fontsize=10.5)
    ax.text(-box_w / 2, 1.75, "backward: from y (grad 1), walk the arrows in reverse; each "
            "Function turns the grad of its output into grads of its inputs (red)",
            color=BACKWARD, fontsize=10.5)
    right = max(p[0] for p in place.values()) + box_w / 2
    ax.set_xlim(-box_w / 2 - 0.1, right + 0.1)
    ax.set_ylim(-1.55, 2.45)
    ax.axis("off")
    fig.tight_layout(pad=0.3)
    save(fig, "autograd_graph.png")


# ---------------------------------------------------------------------- (b) im2col
def im2col_figure():
    H = W = 4
    KH = KW = 2
    OH, OW = H - KH + 1, W - KW + 1
    x = mg.arange(1, H * W + 1, dtype="float32").reshape(1, 1, H, W)  # pixel values 1..16
    w = mg.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    cols = im2col(x.data, kernel_size=(KH, KW), out_size=(OH, OW), stride=(1, 1),
                  padding=(0, 0), dilation=(1, 1))
    y = mg.conv2d(x, w).numpy().ravel()  # y = cols @ w_flat, one output pixel per row
    image = x.numpy()[0, 0]
    colours = plt.get_cmap("tab10").colors

    fig, ax = plt.subplots(figsize=(8.6, 6.6))
    row_h = 1.15

    def cell(x0, y0, size, text, face="white", edge="#999999", fontsize=10):
        ax.add_patch(Rectangle((x0, y0), size, size, fc=face, ec=edge, lw=0.8))
        if text is not None:
            ax.text(x0 + size / 2, y0 + size / 2, text, ha="center", va="center", fontsize=fontsize)

    # The image, with the windows of the first and the last row outlined.
    top = -1.2
    ax.text(2, top + 1.25, "x: 1 channel, 4 x 4", ha="center", fontsize=11)
    for i in range(H):
        for j in range(W):
            cell(j, top - i, 1, f"{image[i, j]:g}")
    for r in (0, OH * OW - 1):
        i, j = divmod(r, OW)
        ax.add_patch(Rectangle((j + 0.06, top - i - KH + 1 + 0.06), KW - 0.12, KH - 0.12,
                               fill=False, ec=colours[r], lw=2.5))
    ax.text(2, top - H - 0.2, f"kernel {KH} x {KW}, stride 1\n"
            f"-> {OH} x {OW} = {OH * OW} windows", ha="center", va="top", fontsize=10)

    # One line per row of `cols`: where the window sits, the row itself, its output pixel.
    left, thumb = 5.6, 0.22
    ax.text(left + 0.65, 0.65, "window", ha="center", fontsize=10)
    ax.text(left + 3.5, 0.65, f"cols = im2col(x), shape ({OH * OW}, {KH * KW})", ha="center",
            fontsize=10)
    ax.text(left + 6.6, 0.65, "y = cols @ w", ha="center", fontsize=10)
    for k in range(KH * KW):  # one column per kernel position (times C channels in general)
        ax.text(left + 2.375 + k * 0.75, 0.2, "(%d,%d)" % divmod(k, KW), ha="center",
                fontsize=8, color="#555555")
    for r in range(OH * OW):
        y0 = -r * row_h - 0.5
        in_row = set(cols[r].tolist())  # the pixel values are distinct: they name the pixels
        for i in range(H):
            for j in range(W):
                lit = image[i, j] in in_row
                cell(left + j * thumb, y0 + (H - 1 - i) * thumb - 0.2, thumb, None,
                     face=colours[r] if lit else "white", edge="#bbbbbb")
        ax.annotate("", xy=(left + 1.75, y0 + 0.25), xytext=(left + 1.0, y0 + 0.25),
                    arrowprops=dict(arrowstyle="-|>", color="#666666"))
        for k, v in enumerate(cols[r]):
            cell(left + 2.0 + k * 0.75, y0 - 0.12, 0.75, f"{v:g}", face=colours[r] + (0.25,),
                 fontsize=9)
        ax.text(left + 6.6, y0 + 0.25, f"{y[r]:g}", ha="center", va="center", fontsize=10)
        ax.text(left - 0.25, y0 + 0.25, f"row {r}", ha="right", va="center", fontsize=9,
                color="#555555")
    ax.text(left + 3.5, -OH * OW * row_h - 0.35,
            "one row per window, one column per kernel position (kh, kw);\n"
            "row 3i + j times w = [[1, 2], [3, 4]] flattened to (1, 2, 3, 4) is y[i, j]",
            ha="center", va="top", fontsize=9.5)
    ax.set_xlim(-0.2, left + 7.2)
    ax.set_ylim(-OH * OW * row_h - 1.0, 1.0)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.tight_layout(pad=0.3)
    save(fig, "im2col.png")


# ------------------------------------------------------------------ (c) batch norm
def batchnorm_figure():
    rng = np.random.default_rng(0)
    m = 2000
    # Three channels that differ in centre, spread and shape (the third is skewed).
    x = np.stack([rng.normal(-6.0, 0.6, m), rng.normal(2.0, 2.5, m),
                  5.0 + rng.gamma(2.0, 1.5, m)], axis=1).astype("float32")  # (N, C) = (m, 3)
    y = mg.batch_norm(mg.tensor(x), None, None, training=True).numpy()

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    colours = plt.get_cmap("tab10").colors
    for ax, data, title in ((axes[0], x, "before: x[:, c], one histogram per channel c"),
                            (axes[1], y, "after batch_norm(x, training=True)")):
        bins = np.linspace(data.min(), data.max(), 60)
        for c in range(data.shape[1]):
            ax.hist(data[:, c], bins=bins, color=colours[c], alpha=0.55,
                    label=f"c={c}: mean {round(data[:, c].mean(), 2) + 0.0:+.2f}, "  # + 0.0: no "-0.00"
                          f"std {data[:, c].std():.2f}")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8, frameon=False)
        ax.set_yticks([])
    fig.text(0.5, 0.01, "each channel is shifted and scaled on its own; the shape of its "
             "distribution (the skew of c=2) is unchanged", ha="center", fontsize=9)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    save(fig, "batchnorm.png")


if __name__ == "__main__":
    autograd_graph()
    im2col_figure()
    batchnorm_figure()
