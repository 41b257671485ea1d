"""Training curves and 2-D scatter plots, saved as image files.

Matplotlib is imported inside the functions, with its file-only "Agg" backend: `import
minigan` stays fast, and plotting works on servers without a display.

GAN losses are noisy (each step sees a new batch and a moving opponent), so `plot_losses`
draws the raw values faintly and an exponential moving average on top, as TensorBoard does.
"""
import math
import os

from .. import backend
from ..backend import np
from .io import atomic_open

D_OUTPUT_COLUMNS = ("d_real", "d_fake", "D(x)", "D(G(z))")
STEP_COLUMNS = ("step", "iteration", "iter")


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def smooth(values, smoothing=0.9):
    """Exponential moving average, debiased so the first points are not pulled towards 0.

    ``smoothing`` in [0, 1): 0 returns the values; 0.99 averages over ~100 points. NaNs
    (missing values) are skipped and stay NaN.
    """
    if not 0 <= smoothing < 1:
        raise ValueError(f"smooth: smoothing must be in [0, 1), got {smoothing}")
    out, average, weight = [], 0.0, 0.0
    for v in values:
        if math.isnan(v):
            out.append(v)
            continue
        average = smoothing * average + (1 - smoothing) * v
        weight = smoothing * weight + (1 - smoothing)
        out.append(average / weight)
    return np.array(out, dtype=np.float64)


def _columns(history):
    """A dict of lists, or a list of row dicts (e.g. from csv.DictReader), as float columns."""
    if isinstance(history, dict):
        columns = dict(history)
    else:
        rows = list(history)
        names = list(dict.fromkeys(name for row in rows for name in row))
        columns = {name: [row.get(name) for row in rows] for name in names}

    def as_float(v):
        return math.nan if v is None or v == "" else float(v)
    return {name: [as_float(v) for v in values] for name, values in columns.items()}


def d_output_limits(values, margin=0.02):
    """The y range for D's mean outputs: [0, 1] (plus ``margin``) when every value is a
    probability (minimax, ns objectives), else None, to let matplotlib fit the data: a
    critic's raw scores (wgan, hinge) can be any real number and a fixed [0, 1] would clip
    them. NaNs (missing values) are ignored."""
    finite = [v for v in values if not math.isnan(v)]
    if all(0.0 <= v <= 1.0 for v in finite):
        return (-margin, 1.0 + margin)
    return None


def plot_losses(history, path, smoothing=0.9, title=None):
    """Plot losses against training step and save to ``path`` (e.g. "losses.png").

    ``history`` maps column names to lists of numbers, or is a list of rows (dicts, as
    `csv.DictReader` gives). Every column whose name contains "loss" goes in the top panel.
    If columns "d_real"/"d_fake" (or "D(x)"/"D(G(z))") exist, the discriminator's mean
    outputs on real and fake images get a second panel, on [0, 1] for probabilities and
    fitted to the values for raw critic scores (`d_output_limits`). The x axis is the "step"
    (or "iteration") column when there is one, else the row number.
    """
    columns = _columns(history)
    loss_names = [name for name in columns if "loss" in name.lower()]
    d_names = [name for name in D_OUTPUT_COLUMNS if name in columns]
    if not loss_names:
        raise ValueError(f"plot_losses: no column with 'loss' in its name among {list(columns)}")
    step_name = next((name for name in STEP_COLUMNS if name in columns), None)
    length = len(columns[loss_names[0]])
    steps = columns[step_name] if step_name else list(range(length))

    plt = _pyplot()
    panels = 2 if d_names else 1
    fig, axes = plt.subplots(panels, 1, figsize=(8, 3.2 * panels), sharex=True, squeeze=False)
    for ax, names in zip(axes[:, 0], [loss_names, d_names]):
        for name in names:
            line, = ax.plot(steps, columns[name], alpha=0.25, linewidth=0.8)
            ax.plot(steps, smooth(columns[name], smoothing), color=line.get_color(), label=name)
        ax.legend(loc="upper right")
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("loss")
    if title:
        axes[0, 0].set_title(title)
    if d_names:
        limits = d_output_limits([v for name in d_names for v in columns[name]])
        if limits is not None:
            axes[1, 0].set_ylabel("mean D output")
            axes[1, 0].set_ylim(*limits)
        else:
            axes[1, 0].set_ylabel("mean critic score")
    axes[-1, 0].set_xlabel(step_name or "step")
    _save(plt, fig, path)


def plot_toy_scatter(real, fake, path, title=None, modes=None):
    """Scatter real (grey) and generated (colour) 2-D points; optional mode centres as crosses.

    ``real`` and ``fake`` are (N, 2) arrays or Tensors on any device.
    """
    real, fake = (backend.to_numpy(x.data if hasattr(x, "_is_tensor") else x) for x in (real, fake))
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(real[:, 0], real[:, 1], s=4, c="0.6", alpha=0.5, label="real")
    ax.scatter(fake[:, 0], fake[:, 1], s=4, c="tab:orange", alpha=0.6, label="generated")
    if modes is not None:
        modes = np.asarray(modes)
        ax.scatter(modes[:, 0], modes[:, 1], marker="x", c="k", s=30, label="modes")
    ax.set_aspect("equal")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=3, markerscale=2, frameon=False)
    if title:
        ax.set_title(title)
    _save(plt, fig, path)


def _save(plt, fig, path):
    """Save atomically (a plot refreshed during training is never seen half-written)."""
    file_format = os.path.splitext(os.fspath(path))[1][1:].lower() or "png"
    try:
        fig.tight_layout()
        with atomic_open(path, "wb") as f:
            fig.savefig(f, format=file_format, dpi=100)
    finally:
        plt.close(fig)  # figures are kept alive by pyplot until closed
