"""Learning-rate schedulers shaped like ``torch.optim.lr_scheduler``.

A scheduler owns its optimizer's ``group["lr"]``: it sets it from a count of steps (PyTorch
calls them epochs, whatever they count). Call ``scheduler.step()`` after ``optimizer.step()``:

    scheduler = lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.1)
    for epoch in range(100):
        train(...)                # optimizer.step() inside
        scheduler.step()          # the lr for the next epoch

With e = ``last_epoch`` (the number of ``step()`` calls since epoch 0) and eta_0 a group's
``initial_lr`` (its lr when the scheduler was built):

    LambdaLR   eta_e = eta_0 * lr_lambda(e)
    StepLR     eta_e = eta_0 * gamma ** (e // step_size)
    LinearLR   eta_e = eta_0 * (start_factor + (end_factor - start_factor) * min(e, total_iters)
                                                                          / total_iters)

PyTorch computes StepLR and LinearLR *chainably*: each step multiplies the current lr by a
ratio, so a change made by hand (or by a second scheduler) carries on. minigan uses the closed
forms above (PyTorch's own for ``step(epoch)``): the lr at epoch e depends on e alone, and
agrees with PyTorch's to rounding. ``state_dict`` holds everything but the optimizer, so a
checkpoint of both resumes the same sequence. See ``docs/10_nn_and_optim.md``.
"""
import numbers
import types

from .optimizer import Optimizer


class LRScheduler:
    """The base class: subclasses give `get_lr`, the lrs at epoch ``last_epoch``.

    With ``last_epoch=-1`` (a new run) each param group's lr is recorded as its
    ``"initial_lr"``. With ``last_epoch >= 0`` (rebuilding a scheduler at that epoch) the groups
    must already hold ``"initial_lr"``: load the optimizer's state_dict first. Either way the
    constructor takes one step, so a new scheduler sets the lr of epoch 0.
    """

    def __init__(self, optimizer, last_epoch=-1):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] "
                                   f"when resuming a scheduler with last_epoch={last_epoch}: "
                                   f"load the optimizer's state_dict (which keeps initial_lr) "
                                   f"first, or pass last_epoch=-1 for a new run")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self.step()

    def get_lr(self):
        raise NotImplementedError

    def get_last_lr(self):
        """The lrs the last `step` set, one per param group."""
        return self._last_lr

    def step(self, epoch=None):
        """Move to the next epoch (or to ``epoch``, deprecated in PyTorch) and set its lrs."""
        self._step_count += 1
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        self._set_lrs(self.get_lr())

    def _set_lrs(self, lrs):
        """Put ``lrs`` in the param groups (a GAN trainer also calls it after loading a
        checkpoint, with `get_lr`: the lr of the current epoch from the schedule as built)."""
        groups = self.optimizer.param_groups
        if len(lrs) != len(groups):
            raise ValueError(f"{type(self).__name__} was built for {len(lrs)} param groups but the "
                             f"optimizer now has {len(groups)}: build the scheduler after "
                             f"add_param_group")
        for group, lr in zip(groups, lrs):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in groups]

    def state_dict(self):
        """Every attribute but the optimizer: save the optimizer's state_dict beside it."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict):
        saved = len(state_dict.get("base_lrs", self.base_lrs))
        if saved != len(self.base_lrs):
            raise ValueError(f"loaded scheduler state has {saved} param groups, this "
                             f"{type(self).__name__} has {len(self.base_lrs)}")
        self.__dict__.update(state_dict)


class LambdaLR(LRScheduler):
    """eta_e = eta_0 * lr_lambda(e): one function of the epoch, or a list, one per group."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        _check_optimizer(optimizer)
        groups = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != groups:
                raise ValueError(f"Expected {groups} lr_lambdas (one per param group), "
                                 f"but got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * groups
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"LambdaLR: lr_lambda must be a function of the epoch, "
                                f"got {type(fn).__name__}")
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base_lr * fn(self.last_epoch)
                for fn, base_lr in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self):
        """As the base class's, with ``lr_lambdas``: None for a plain function (its code is not
        data), the attributes of a callable object."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType)
                               else dict(getattr(fn, "__dict__", {})) for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict):
        state = dict(state_dict)
        saved_lambdas = state.pop("lr_lambdas")
        super().load_state_dict(state)
        for fn, saved in zip(self.lr_lambdas, saved_lambdas):
            if saved is not None:
                fn.__dict__.update(saved)


class StepLR(LRScheduler):
    """eta_e = eta_0 * gamma ** (e // step_size): multiplied by gamma every step_size epochs."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        if not _is_positive_int(step_size):
            raise ValueError(f"StepLR: step_size must be a positive integer, got {step_size!r}")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size)
                for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    """eta_e = eta_0 * (start_factor + (end_factor - start_factor) * min(e, total_iters) /
    total_iters): the factor moves in a straight line for total_iters epochs, then stays
    (a warm-up with the defaults 1/3 -> 1; a decay to 0 with start_factor=1, end_factor=0)."""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        if not 0 < start_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must lie in (0, 1], got {start_factor}")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: end_factor must lie in [0, 1], got {end_factor}")
        if not _is_positive_int(total_iters):
            raise ValueError(f"LinearLR: total_iters must be a positive integer, "
                             f"got {total_iters!r}")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        epochs = min(self.total_iters, self.last_epoch)
        # PyTorch's order of operations (its closed form), so the two round alike
        change = self.end_factor - self.start_factor
        factor = self.start_factor + change * epochs / self.total_iters
        return [base_lr * factor for base_lr in self.base_lrs]


def _check_optimizer(optimizer):
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer (minigan.optim)")


def _is_positive_int(n):
    return isinstance(n, numbers.Integral) and not isinstance(n, bool) and n > 0
