"""DAGAN (Antoniou, Storkey & Edwards 2017): a GAN that learns to augment data.

From a real image x and noise z, G makes a new image of x's class; D judges pairs:

    real pair (x, x'):       x' another real image of x's class
    fake pair (x, G(z, x)):  G's variation on x
    L_D = d_loss(D(x', x), D(G(z, x), x))      L_G = g_loss(D(G(z, x), x))    ("ns": the paper's
                                                                              cross entropy)

Since real pairs always hold two *different* images of one class, G can neither ignore x (its
output would not belong with x) nor copy it (D learns that a real pair is never one image
twice): it must learn what may change within a class. Trained on a few labelled images, G then
makes new training images for any class, even one it never saw (the paper's use: few-shot
classifiers). `examples/cats_dagan.py` runs the paper's test: a classifier trained on few cats,
with and without DAGAN's images.

DAGAN is a conditional GAN whose condition is an image, so `GANTrainer`'s D and G updates
(with their options: instance noise, R1, ...) run unchanged with ``labels = x``; only the batch
(x with a partner x') and the progress grid are new. See ``docs/15_augmentation.md``.
"""
from .. import backend
from ..autograd import Tensor
from ..backend import np
from ..creation import rand
from ..ops import cat
from .pix2pix import bands
from .trainer import GANTrainer


class DAGANTrainer(GANTrainer):
    """One step: a D update on real pairs (x, x') and fake pairs (x, G(z, x)), then a G update.

    images, labels  the training set (uint8 N x H x W x C, int (N,)): partners x' are drawn from
                    it. Batches are ``(x, index)`` pairs: `ImageBatches(images, labels=arange(N))`,
                    so that the trainer knows each x's class and never pairs x with itself.
    num_sources     images shown in the progress grid, one row of sources above ``num_variations``
                    rows of G's variations (fixed z); the sources cycle through the classes.
    Other keywords go to `GANTrainer` (objective, instance noise, R1, EMA, seed).
    """

    def __init__(self, generator, discriminator, g_optimizer, d_optimizer, images, labels,
                 num_sources=8, num_variations=3, **options):
        if options.get("n_critic", 1) != 1 or options.get("num_classes"):
            raise ValueError("DAGANTrainer: n_critic must be 1 and num_classes unset (the "
                             "condition is the image x)")
        super().__init__(generator, discriminator, g_optimizer, d_optimizer,
                         num_samples=num_sources * num_variations, **options)
        self.labels = np.asarray(labels).astype(np.int64).reshape(-1)
        if len(self.labels) != len(images):
            raise ValueError(f"DAGANTrainer: {len(images)} images but {len(self.labels)} labels")
        with backend.device_context(self.device):
            pool = backend.to_device(np.asarray(images), self.device)
            self.pool = Tensor(pool.transpose(0, 3, 1, 2).astype(self.dtype) / 127.5 - 1.0)
        self.members = {c: np.flatnonzero(self.labels == c) for c in np.unique(self.labels)}
        # the grid's sources: the first, second, ... image of each class in turn
        classes, order = list(self.members.values()), []
        for k in range(num_sources):
            members = classes[k % len(classes)]
            order.append(members[(k // len(classes)) % len(members)])
        self.sources = self._rows(np.asarray(order))
        self.num_variations = num_variations

    def _rows(self, indices):
        """The training images at host ``indices``, as a Tensor on the device."""
        with backend.device_context(self.device):
            return Tensor(self.pool.data[backend.to_device(indices, self.device)])

    def partners(self, indices):
        """For each index i, the index of another image of i's class, uniformly (i itself
        only when its class has one image). Draws from the trainer's generator."""
        u = backend.to_numpy(rand(len(indices), dtype="float64", device=self.device,
                                  generator=self.rng).data)
        chosen = np.empty(len(indices), dtype=np.int64)
        for k, (i, draw) in enumerate(zip(indices, u)):
            others = self.members[self.labels[i]]
            others = others[others != i] if len(others) > 1 else others
            chosen[k] = others[min(int(draw * len(others)), len(others) - 1)]
        return chosen

    def train_step(self, next_batch):
        x, index = self._as_batch(next_batch())
        other = self._rows(self.partners(backend.to_numpy(index.data).reshape(-1)))
        fake = self.G(self.noise(x.shape[0]), x)
        log = self.d_step(other, fake, labels=x)  # D(x', x) against D(G(z, x), x)
        log.update(self.g_step(fake, other, labels=x))
        return self._end_step(log)

    def sample(self, sources=None, use_ema=True):
        """A grid batch: a row of ``sources`` (the fixed ones by default) above rows of
        G's variations of them, each row one fixed noise draw per source."""
        sources = self.sources if sources is None else sources
        n, width, rows = sources.shape[0], self.sources.shape[0], []
        if n > width:
            raise ValueError(f"DAGANTrainer.sample: at most {width} sources (num_sources), "
                             f"got {n}")
        for v in range(self.num_variations):  # row v: the fixed noise vectors v*width, ...
            noise = self.fixed_noise[v * width:v * width + n]
            rows.append(super().sample(noise, labels=sources, use_ema=use_ema))
        return bands([sources] + rows, nrow=n)

    def augment(self, images, per_image=1, batch_size=64):
        """``per_image`` new images for each of ``images`` (a Tensor (N, C, H, W) in [-1, 1]), in
        eval mode with fresh noise from the trainer's generator: a Tensor (N * per_image, ...),
        the variations of image i at rows i, N + i, 2N + i, ..."""
        out = []
        for _ in range(per_image):
            for start in range(0, images.shape[0], batch_size):
                chunk = images[start:start + batch_size]
                out.append(super().sample(self.noise(chunk.shape[0]), labels=chunk))
        return cat(out, dim=0)
