"""Exponential moving average (EMA) of generator weights (Yazıcı et al. 2019; Karras et al.).

GAN training oscillates around its equilibrium; the average of the recent generator weights
sits closer to it than any single iterate, so samples drawn from the averaged copy are
usually cleaner. The average is only *used* for sampling; training never reads it.

    theta_ema <- decay * theta_ema + (1 - decay) * theta

Buffers (batch norm running statistics) are copied, not averaged. See
``docs/08_gan_tricks.md``.
"""
import copy

from .. import backend
from ..autograd import no_grad


class EMA:
    """Keeps ``self.module``, an averaged copy of ``model`` (e.g. ``EMA(G).module(z)``)."""

    def __init__(self, model, decay=0.999):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA: decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.module = copy.deepcopy(model)
        for p in self.module.parameters():
            p.requires_grad = False  # the average is never trained
        self.module.eval()

    @no_grad()
    def update(self, model):
        """One averaging step; call it after each generator update."""
        d = self.decay
        for (name, avg), (_, p) in zip(self.module.named_parameters(), model.named_parameters()):
            with backend.device_context(p.device):  # a GPU works on its current device
                # Python floats keep the array's dtype (float32 stays float32).
                avg.data = avg.data * d + p.data * (1.0 - d)
        for (name, avg), (_, b) in zip(self.module.named_buffers(), model.named_buffers()):
            with backend.device_context(b.device):  # CuPy copies onto the current device
                avg.data = b.data.copy()

    def state_dict(self):
        return self.module.state_dict()

    def load_state_dict(self, state):
        self.module.load_state_dict(state)
