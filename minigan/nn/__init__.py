"""Neural-network building blocks shaped like ``torch.nn``: `Module`, `Parameter`, layers,
containers, ``init`` and ``functional``. See ``docs/10_nn_and_optim.md``."""
from . import functional, init  # noqa: F401
from .parameter import Parameter  # noqa: F401
from .module import Module  # noqa: F401
from .container import Sequential, ModuleList  # noqa: F401
from .linear import Linear  # noqa: F401
from .conv import Conv2d, ConvTranspose2d  # noqa: F401
from .pooling import AvgPool2d, MaxPool2d, AdaptiveAvgPool2d  # noqa: F401
from .upsampling import Upsample, PixelShuffle, PixelUnshuffle  # noqa: F401
from .padding import ZeroPad2d, ConstantPad2d, ReflectionPad2d, ReplicationPad2d  # noqa: F401
from .batchnorm import BatchNorm1d, BatchNorm2d  # noqa: F401
from .normalization import LayerNorm, GroupNorm, InstanceNorm2d  # noqa: F401
from .activation import ReLU, LeakyReLU, PReLU, Tanh, Sigmoid  # noqa: F401
from .activation import GELU, ELU, SiLU, Softmax, LogSoftmax  # noqa: F401
from .loss import (MSELoss, L1Loss, KLDivLoss, BCELoss, BCEWithLogitsLoss, NLLLoss,  # noqa: F401
                   CrossEntropyLoss)
from .dropout import Dropout, Dropout2d  # noqa: F401
from .identity import Identity  # noqa: F401
from .attention import MultiheadAttention  # noqa: F401
from . import utils  # noqa: F401
from .embedding import Embedding  # noqa: F401
from .flatten import Flatten, Unflatten, Reshape  # noqa: F401
