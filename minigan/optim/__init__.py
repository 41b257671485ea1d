"""Optimizers shaped like ``torch.optim``. See ``docs/10_nn_and_optim.md``."""
from .optimizer import Optimizer  # noqa: F401
from .sgd import SGD  # noqa: F401
from .adam import Adam  # noqa: F401
from . import lr_scheduler  # noqa: F401
