"""Neural-network building blocks shaped like ``torch.nn``: `Module`, `Parameter`, layers,
containers, ``init`` and ``functional``. See ``docs/10_nn_and_optim.md``."""
from . import functional, init  # noqa: F401
from .parameter import Parameter  # noqa: F401
from .module import Module  # noqa: F401
from .container import Sequential, ModuleList  # noqa: F401
from .linear import Linear  # noqa: F401
from .conv import Conv2d, ConvTranspose2d  # noqa: F401
from .batchnorm import BatchNorm1d, BatchNorm2d  # noqa: F401
from .activation import ReLU, LeakyReLU, Tanh, Sigmoid  # noqa: F401
from .dropout import Dropout  # noqa: F401
from .embedding import Embedding  # noqa: F401
from .flatten import Flatten, Unflatten, Reshape  # noqa: F401
