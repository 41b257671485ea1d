"""`ImagePool`: the history buffer of CycleGAN (Shrivastava et al. 2017; Zhu et al. 2017).

The discriminator is updated on generated images drawn half from the current generator and
half from a pool of the last ``pool_size`` images it produced. A D that only ever sees the
newest fakes forgets what older generators did, and G can swing back to an old failure mode
that D no longer rejects; the history makes D remember, which damps the oscillation.

    for each generated image g of the batch:
        pool not full yet:      store g, hand g to D
        else, with prob 1/2:    hand D a random stored image, and store g in its place
        else:                   hand g to D

The coin flips and the choice of image come from the pool's own seeded NumPy generator (a few
numbers per batch, drawn on the host: no device sync), and `state_dict` holds the stored
images and that generator's state, so a resumed run draws the same. See
``docs/14_image_to_image.md``.
"""
from .. import backend
from ..autograd import Tensor
from ..backend import np


class ImagePool:
    def __init__(self, pool_size=50, seed=0):
        if pool_size < 0:
            raise ValueError(f"ImagePool: pool_size must be >= 0, got {pool_size}")
        self.pool_size = pool_size
        self.rng = np.random.default_rng(seed)
        self.images = []  # device arrays (C, H, W), in the order they were stored

    def query(self, images):
        """A batch of the same shape for D: a mix of ``images`` and stored ones, detached."""
        if self.pool_size == 0:
            return images.detach()
        # after a resume the stored images come back from the checkpoint on the host
        self.images = [backend.to_device(image, images.device) for image in self.images]
        chosen = []
        for image in images.data:
            if len(self.images) < self.pool_size:
                self.images.append(image)
                chosen.append(image)
            elif self.rng.random() < 0.5:
                index = int(self.rng.integers(self.pool_size))
                chosen.append(self.images[index])
                self.images[index] = image
            else:
                chosen.append(image)
        xp = backend.get_array_module(images.data)
        with backend.device_context(images.device):
            return Tensor(xp.stack(chosen))

    def state_dict(self):
        return {"pool_size": self.pool_size, "rng": self.rng.bit_generator.state,
                "images": list(self.images)}

    def load_state_dict(self, state):
        if int(state["pool_size"]) != self.pool_size:
            raise ValueError(f"ImagePool.load_state_dict: the state holds a pool of "
                             f"{state['pool_size']} images, this one holds {self.pool_size}")
        self.rng.bit_generator.state = state["rng"]
        self.images = [image.data if isinstance(image, Tensor) else image
                       for image in state["images"]]
