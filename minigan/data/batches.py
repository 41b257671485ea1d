"""Mini-batches of images for training: shuffled, optionally flipped, scaled to [-1, 1].

    batches = ImageBatches(images, batch_size=128, flip=True, device="cuda")
    for epoch in range(epochs):
        for real in batches:          # Tensor (128, 3, 64, 64), float32, on the device
            ...

The dataset stays a compact uint8 N x H x W x C array on the host (a quarter of the float32
size). Each batch is gathered, flipped and converted to float there, then moved to the device
in one copy. With ``preload=True`` the uint8 array is copied to the device once instead, and
batches are gathered and converted on the device: no per-batch host-to-GPU copy at all (the
epoch's order and flips, n numbers, go over once per epoch).

Shuffling and flips of epoch ``e`` come from a generator seeded with ``(seed, e)``, so the
whole state is three integers (`state_dict`): a run resumed from a checkpoint sees exactly
the batches it would have seen, even from the middle of an epoch.
"""
import math

from .. import backend
from ..autograd import Tensor
from ..backend import np


class ImageBatches:
    """Iterate over one epoch of image batches per ``for`` loop; ``len()`` is batches per epoch.

    images: uint8 array N x H x W x C (C = 1 or 3), e.g. from `procedural_cats` or
        `load_image_folder`.
    batch_size: images per batch.
    shuffle: a new random order every epoch (else the stored order).
    seed: seeds the shuffling and flips.
    flip: mirror each image left-right with probability 1/2 (cats are symmetric enough;
        doubles the effective data).
    drop_last: skip the last, smaller batch (batch norm dislikes odd small batches).
    device, dtype: where the batches go and their float type (float32 by default).
    preload: keep the uint8 dataset on the device (worth it on a GPU).
    labels: optional int array (N,) (or (N, A): several per image): then each batch is
        ``(images, labels)``, the labels an int64 Tensor on the device (conditional GANs,
        classifiers). A flip does not change them: do not flip if a label is left or right.
    """

    def __init__(self, images, batch_size, shuffle=True, seed=0, flip=False, drop_last=True,
                 device=None, dtype="float32", preload=False, labels=None):
        shape, dtype_ = getattr(images, "shape", None), getattr(images, "dtype", None)
        if not backend.is_array(images) or dtype_ != np.uint8 or len(shape) != 4 \
                or shape[3] not in (1, 3):
            raise ValueError(f"ImageBatches: expected a uint8 array N x H x W x C with C = 1 or 3, "
                             f"got {type(images).__name__} of shape {shape} and dtype {dtype_}")
        if batch_size < 1:
            raise ValueError(f"ImageBatches: batch_size must be at least 1, got {batch_size}")
        if drop_last and len(images) < batch_size:
            raise ValueError(f"ImageBatches: {len(images)} images make no full batch of "
                             f"{batch_size}; lower batch_size or pass drop_last=False")
        self.device = backend.parse_device(device)
        self.dtype = backend.dtype(dtype)
        if not backend.is_floating(self.dtype):
            raise TypeError(f"ImageBatches: dtype must be a float type, got {self.dtype}")
        if labels is not None and (not backend.is_array(labels) or len(labels) != shape[0]
                                   or labels.dtype.kind not in "iu"):
            raise ValueError(f"ImageBatches: labels must be an int array with one row per image "
                             f"({shape[0]}), got {type(labels).__name__} of shape "
                             f"{getattr(labels, 'shape', None)}")
        keep = (lambda a: backend.to_device(a, self.device)) if preload else backend.to_numpy
        self.images = keep(images)
        self.labels = None if labels is None else keep(labels.astype("int64"))
        self.batch_size, self.shuffle = batch_size, shuffle
        self.flip, self.drop_last = flip, drop_last
        self.seed, self.epoch, self.position = seed, 0, 0  # position: batches done this epoch

    def __len__(self):
        n = len(self.images) / self.batch_size
        return math.floor(n) if self.drop_last else math.ceil(n)

    def __iter__(self):
        """The rest of the current epoch (all of it, unless resumed mid-epoch)."""
        order, flips = self._epoch_plan(self.epoch)
        if backend.device_of(self.images) != "cpu":  # preloaded: one upload per epoch
            order = backend.to_device(order, self.device)
            flips = backend.to_device(flips, self.device)
        while self.position < len(self):
            start = self.position * self.batch_size
            index = order[start:start + self.batch_size]
            self.position += 1  # counted before the yield: a checkpoint saved now resumes after it
            yield self._batch(index, flips)
        self.epoch, self.position = self.epoch + 1, 0

    def _epoch_plan(self, epoch):
        """This epoch's image order and flip decisions, from its own seeded generator. Drawn
        on the host (n numbers per epoch), so a preloaded dataset gives the same batches."""
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(epoch,)))
        n = len(self.images)
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        flips = rng.random(n) < 0.5 if self.flip else np.zeros(n, dtype=bool)
        return order, flips

    def _batch(self, index, flips):
        """Images ``index``, flipped where ``flips[index]``: gather, flip, scale to [-1, 1],
        NHWC -> NCHW, on whichever side holds the images."""
        images = self.images
        xp = backend.get_array_module(images)
        with backend.device_context(backend.device_of(images)):
            batch, flips = images[index], flips[index]
            batch = xp.where(flips[:, None, None, None], batch[:, :, ::-1, :], batch)  # W: axis 2
            x = batch.transpose(0, 3, 1, 2).astype(self.dtype) / 127.5 - 1.0  # 0 -> -1, 255 -> 1
            x = xp.ascontiguousarray(x)
            labels = None if self.labels is None else self.labels[index]
        x = Tensor(backend.to_device(x, self.device))
        return x if labels is None else (x, Tensor(backend.to_device(labels, self.device)))

    def state_dict(self):
        """Everything needed to resume: the seed, the epoch and the batches done in it."""
        return {"seed": self.seed, "epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state):
        if not 0 <= state["position"] <= len(self):
            raise ValueError(f"ImageBatches.load_state_dict: position {state['position']} is "
                             f"outside an epoch of {len(self)} batches (another dataset?)")
        self.seed, self.epoch, self.position = int(state["seed"]), int(state["epoch"]), \
            int(state["position"])
