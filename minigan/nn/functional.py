"""``minigan.nn.functional`` (import as ``F``): every op as a plain function, as in
``torch.nn.functional``. The modules in ``minigan.nn`` hold parameters and call these; the
math (forward and backward) lives in ``minigan/ops/``.
"""
from ..ops.activation import relu, leaky_relu, prelu, tanh, sigmoid, softplus  # noqa: F401
from ..ops.conv import conv2d, conv_transpose2d  # noqa: F401
from ..ops.pool import avg_pool2d, max_pool2d, adaptive_avg_pool2d  # noqa: F401
from ..ops.resample import interpolate, pixel_shuffle, pixel_unshuffle  # noqa: F401
from ..ops.linalg import linear  # noqa: F401
from ..ops.loss import mse_loss, binary_cross_entropy, binary_cross_entropy_with_logits  # noqa: F401
from ..ops.loss import l1_loss, nll_loss, cross_entropy, kl_div  # noqa: F401
from ..ops.softmax import softmax, log_softmax  # noqa: F401
from ..ops.activation import gelu, elu, silu  # noqa: F401
from ..ops.norm import batch_norm  # noqa: F401
from ..ops.normalize import layer_norm, group_norm, instance_norm  # noqa: F401
from ..ops.shape import pad  # noqa: F401
from .dropout import dropout, dropout2d  # noqa: F401
from .attention import scaled_dot_product_attention  # noqa: F401
from .embedding import embedding  # noqa: F401
