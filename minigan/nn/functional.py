"""``minigan.nn.functional`` (import as ``F``): every op as a plain function, as in
``torch.nn.functional``. The modules in ``minigan.nn`` hold parameters and call these; the
math (forward and backward) lives in ``minigan/ops/``.
"""
from ..ops.activation import relu, leaky_relu, tanh, sigmoid, softplus  # noqa: F401
from ..ops.conv import conv2d, conv_transpose2d  # noqa: F401
from ..ops.linalg import linear  # noqa: F401
from ..ops.loss import mse_loss, binary_cross_entropy, binary_cross_entropy_with_logits  # noqa: F401
from ..ops.norm import batch_norm  # noqa: F401
from ..ops.shape import pad  # noqa: F401
from .dropout import dropout  # noqa: F401
from .embedding import embedding  # noqa: F401
