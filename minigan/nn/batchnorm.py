"""`BatchNorm1d` and `BatchNorm2d`: modules around `minigan.ops.norm.batch_norm` (the math and
its double backward live there; see ``docs/04_batchnorm.md``).

The module adds the *state*: learned scale and shift (``weight``, ``bias``), and the running
mean and variance, which are buffers (saved in ``state_dict()``, not learned). Training mode
normalises with the batch's statistics and updates the running ones; eval mode normalises
with the running ones, so one image's output does not depend on the rest of its batch.
"""
from ..creation import zeros, ones
from .. import backend
from . import functional as F
from .module import Module
from .parameter import Parameter


class _BatchNorm(Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None):
        super().__init__()
        if not eps > 0:
            raise ValueError(f"{type(self).__name__}: eps must be positive, got {eps}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(ones(num_features, device=device, dtype=dtype))
            self.bias = Parameter(zeros(num_features, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, device=device, dtype=dtype))
            self.register_buffer("running_var", ones(num_features, device=device, dtype=dtype))
            self.register_buffer("num_batches_tracked", zeros((), dtype="int64", device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def _check_input_dim(self, x):
        raise NotImplementedError

    def forward(self, input):
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            with backend.device_context(self.num_batches_tracked.device):
                self.num_batches_tracked.data += 1
            if self.momentum is None:  # cumulative moving average: the mean of all batches
                factor = 1.0 / self.num_batches_tracked.item()
        # Batch statistics in training, and also in eval when there are no running ones.
        use_batch_stats = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if track else None,
                            self.running_var if track else None, self.weight, self.bias,
                            training=use_batch_stats, momentum=factor, eps=self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Normalises each feature of (N, C) or (N, C, L) input over the batch (and L)."""

    def _check_input_dim(self, x):
        if x.ndim not in (2, 3):
            raise ValueError(f"BatchNorm1d: expected 2D or 3D input (N, C) or (N, C, L), "
                             f"got shape {x.shape}")


class BatchNorm2d(_BatchNorm):
    """Normalises each channel of (N, C, H, W) input over N, H and W."""

    def _check_input_dim(self, x):
        if x.ndim != 4:
            raise ValueError(f"BatchNorm2d: expected 4D input (N, C, H, W), got shape {x.shape}")
