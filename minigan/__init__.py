"""minigan: a from-scratch deep-learning framework on NumPy/CuPy, written to be read.

Start with ``minigan/autograd.py`` (Tensor, Function, backward), then ``minigan/ops/``.
"""
from . import backend, kernels
from .autograd import Tensor, Function, grad, no_grad, enable_grad, is_grad_enabled
from .ops import *  # noqa: F401,F403  (the differentiable ops: add, exp, matmul, ...)
from .ops import sum, max, min, abs, pow  # noqa: F401  (shadowing builtins is deliberate)
from .backend import (get_array_module, to_device, to_numpy, set_default_device,
                      get_default_device, cuda_available, DeviceError)
from .creation import tensor, zeros, ones, zeros_like, ones_like, full, arange, randn, rand, manual_seed
from . import random  # seeded generators that draw on each device, as torch.random
from .random import Generator
from . import nn, optim  # layers and optimizers, as torch.nn and torch.optim
from .serialization import save, load

float32 = backend.dtype("float32")
float64 = backend.dtype("float64")

__version__ = "0.1.0"
