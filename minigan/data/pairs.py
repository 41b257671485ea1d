"""Data for image-to-image translation: paired (Pix2Pix) and unpaired (CycleGAN) batches.

Pix2Pix learns from pairs made here from any cat images (`edge_maps`: a cat's outlines, the
input, and the cat, the target; or `grayscale`: the grey cat and the colour one). CycleGAN
needs no pairs, only two collections (`UnpairedBatches`).

`PairedBatches` stacks each input above its target (N x 2H x W x C) and hands the stack to
one `ImageBatches`: a left-right flip then mirrors both halves together, and shuffling,
resume and the preloaded device copy come for free. Each batch is cut back into (x, y).
"""
from .. import backend
from ..autograd import Tensor
from ..backend import np
from .batches import ImageBatches


def _luminance(images):
    """uint8 N x H x W x 3 -> float N x H x W in [0, 255] (ITU-R 601 weights, as Pillow's "L")."""
    return images.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def grayscale(images):
    """uint8 N x H x W x 3 -> the same images in grey, still 3 channels (equal ones)."""
    grey = np.round(_luminance(images)).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=3)


def edge_maps(images, keep=0.2):
    """uint8 N x H x W x 3 -> edge drawings: dark lines on white, 3 equal channels.

    A Sobel filter on the slightly blurred luminance gives the gradient magnitude |grad I|;
    edges are kept where it is a local maximum across the edge (Canny's non-maximum
    suppression: thin lines, not bands) and in the top ``keep`` fraction of each image's
    magnitudes (a threshold per image, so dark and bright photos get as many lines).
    """
    # a few hundred images at a time: the filters make several float64 copies of the batch
    return np.concatenate([_edge_maps(images[i:i + 500], keep)
                           for i in range(0, len(images), 500)])


def _edge_maps(images, keep):
    grey = _luminance(images)
    # 3x3 binomial blur: the Sobel filter alone answers to single-pixel noise
    padded = np.pad(grey, ((0, 0), (1, 1), (1, 1)), mode="edge")
    kernel = np.array([1.0, 2.0, 1.0]) / 4.0
    grey = sum(kernel[i] * kernel[j] * padded[:, i:i + grey.shape[1], j:j + grey.shape[2]]
               for i in range(3) for j in range(3))
    p = np.pad(grey, ((0, 0), (1, 1), (1, 1)), mode="edge")
    h, w = grey.shape[1:]
    window = lambda dy, dx: p[:, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w]  # noqa: E731
    gx = (window(-1, 1) + 2 * window(0, 1) + window(1, 1)
          - window(-1, -1) - 2 * window(0, -1) - window(1, -1))
    gy = (window(1, -1) + 2 * window(1, 0) + window(1, 1)
          - window(-1, -1) - 2 * window(-1, 0) - window(-1, 1))
    magnitude = np.hypot(gx, gy)
    # non-maximum suppression: compare with the two neighbours along the gradient direction
    # (rounded to horizontal, vertical or one of the diagonals)
    m = np.pad(magnitude, ((0, 0), (1, 1), (1, 1)))
    angle = np.rad2deg(np.arctan2(gy, gx)) % 180
    direction = np.round(angle / 45).astype(int) % 4  # 0: -, 1: \ (y down), 2: |, 3: /
    steps = [(0, 1), (1, 1), (1, 0), (1, -1)]
    peak = np.zeros(magnitude.shape, dtype=bool)
    for d, (dy, dx) in enumerate(steps):
        ahead = m[:, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
        behind = m[:, 1 - dy:1 - dy + h, 1 - dx:1 - dx + w]
        peak |= (direction == d) & (magnitude >= ahead) & (magnitude >= behind)
    threshold = np.quantile(magnitude, 1.0 - keep, axis=(1, 2), keepdims=True)
    edges = peak & (magnitude > threshold) & (magnitude > 0)
    drawing = np.where(edges, 0, 255).astype(np.uint8)
    return np.repeat(drawing[..., None], 3, axis=3)


class PairedBatches:
    """Batches of pairs (x, y): Tensors (batch_size, C, H, W) in [-1, 1], flipped together.

    inputs, targets: uint8 N x H x W x C arrays of the same shape; the other arguments are
    `ImageBatches`'s. Same interface: ``len``, ``epoch``, ``state_dict``, ``load_state_dict``.
    """

    def __init__(self, inputs, targets, batch_size, **kwargs):
        if getattr(inputs, "shape", None) != getattr(targets, "shape", None):
            raise ValueError(f"PairedBatches: inputs and targets must have the same shape, got "
                             f"{getattr(inputs, 'shape', None)} and "
                             f"{getattr(targets, 'shape', None)}")
        self.height = inputs.shape[1]
        self.stacked = ImageBatches(np.concatenate([inputs, targets], axis=1), batch_size,
                                    **kwargs)

    def __len__(self):
        return len(self.stacked)

    @property
    def epoch(self):
        return self.stacked.epoch

    def __iter__(self):
        for batch in self.stacked:
            data, h = batch.data, self.height
            xp = backend.get_array_module(data)
            with backend.device_context(batch.device):
                yield (Tensor(xp.ascontiguousarray(data[:, :, :h])),
                       Tensor(xp.ascontiguousarray(data[:, :, h:])))

    def state_dict(self):
        return self.stacked.state_dict()

    def load_state_dict(self, state):
        self.stacked.load_state_dict(state)


class UnpairedBatches:
    """Batches (a, b) from two collections that are not paired: an epoch is one pass over
    ``a_batches``; ``b_batches`` runs through its own epochs alongside (both `ImageBatches`,
    each with its own seed, so each is shuffled independently)."""

    def __init__(self, a_batches, b_batches):
        self.a, self.b = a_batches, b_batches
        self._b_stream = None

    def __len__(self):
        return len(self.a)

    @property
    def epoch(self):
        return self.a.epoch

    def __iter__(self):
        for a in self.a:
            yield a, self._next_b()

    def _next_b(self):
        if self._b_stream is None:
            self._b_stream = iter(self.b)
        try:
            return next(self._b_stream)
        except StopIteration:  # b's epoch is over: the next one
            self._b_stream = iter(self.b)
            return next(self._b_stream)

    def state_dict(self):
        return {"a": self.a.state_dict(), "b": self.b.state_dict()}

    def load_state_dict(self, state):
        self.a.load_state_dict(state["a"])
        self.b.load_state_dict(state["b"])
        self._b_stream = None  # the old stream holds the old epoch's order
