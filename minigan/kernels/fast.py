"""The fast kernels: the reference set's functions, with the same arguments and results,
made fast on the CPU (threads, channels-last memory, sub-pixel transposed convolution,
in-place passes). Each lives in its own file beside the idea it speeds up; this file only
gathers them into one set. On CuPy the same code runs without threads.
See ``docs/11_making_it_fast.md``.
"""
from .conv import (conv2d, conv_transpose2d, conv2d_grad_weight, conv2d_backward,  # noqa: F401
                   conv_transpose2d_backward)
from .batchnorm import batch_norm, batch_norm_backward  # noqa: F401
from .activation import (leaky_relu, leaky_relu_backward, gelu_tanh,  # noqa: F401
                         gelu_tanh_backward)
from .normalize import normalize, normalize_backward  # noqa: F401
from .softmax import softmax, softmax_backward, log_softmax, log_softmax_backward  # noqa: F401
from .parallel import for_each  # noqa: F401
from .resample import (block_sum, upsample_nearest, max_pool_windows,  # noqa: F401
                       gather_windows, scatter_windows, separable_map,
                       pixel_shuffle, pixel_unshuffle)
from .padding import pad, pad_backward  # noqa: F401
