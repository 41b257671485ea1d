"""`Optimizer`: the base class of `SGD` and `Adam`, shaped like ``torch.optim.Optimizer``.

An optimizer holds

- ``param_groups``: a list of dicts, each with its ``"params"`` and its own options (so a
  GAN can give different layers different learning rates), and
- ``state``: per-parameter tensors such as Adam's moving averages, keyed by the Parameter.

``state_dict()`` names parameters by their position (0, 1, ...) across the groups, because a
resumed run has new Parameter objects; ``load_state_dict`` maps positions back. Restoring
the state exactly makes a resumed run continue bit for bit. See ``docs/10_nn_and_optim.md``.
"""
from .. import backend, kernels
from ..autograd import Tensor, no_grad, enable_grad


class Optimizer:
    def __init__(self, params, defaults):
        self.defaults = defaults
        self.param_groups = []
        self.state = {}  # Parameter -> dict; Tensors hash by identity
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got a Tensor (wrap it in a list)")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group):
        """Add a group (a dict with "params" and optional options; missing options take the
        defaults), e.g. when unfreezing layers partway through training."""
        group = dict(param_group)
        params = group["params"]
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor (one computed by an op)")
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self._check_options(group)
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in group["params"]}) != len(group["params"]) or \
                existing & {id(p) for p in group["params"]}:
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def _check_options(self, group):
        """Subclasses reject invalid options (negative learning rate, ...)."""

    def zero_grad(self, set_to_none=True):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None and not set_to_none:
                    # A new zero tensor, never an in-place fill: grads may be shared.
                    xp = backend.get_array_module(p.grad.data)
                    with backend.device_context(p.device):
                        p.grad = Tensor(xp.zeros_like(p.grad.data))
                else:
                    p.grad = None

    def step(self, closure=None):
        """Update every parameter that has a gradient. ``closure`` (optional) recomputes and
        returns the loss, as in PyTorch."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            jobs = [(p, self._state_for(p), group) for group in self.param_groups
                    for p in group["params"] if p.grad is not None]
            # Each parameter's update is independent of the others: the fast kernels share
            # them between the CPU's threads (minigan/kernels/parallel.py, for_each).
            def update(job):
                param, state, group = job
                with backend.device_context(param.device):  # a GPU works on its current device
                    self._update(param, param.grad.data, state, group)
            if jobs:
                kernels.current().for_each(update, jobs, [p.size for p, _, _ in jobs],
                                           jobs[0][0].data)
        return loss

    def _update(self, param, grad, state, group):
        """Change ``param.data`` using ``grad`` (an array; never modify it in place)."""
        raise NotImplementedError

    def _state_for(self, param):
        """The parameter's state dict, with its tensors on the parameter's device (created
        empty on first use; moved if the model moved since)."""
        state = self.state.setdefault(param, {})
        for value in state.values():
            if isinstance(value, Tensor) and value.device != param.device:
                value.data = backend.to_device(value.data, param.device)
        return state

    def to(self, device):
        """Move the optimizer state to ``device`` (after ``model.to(device)``)."""
        for state in self.state.values():
            for value in state.values():
                if isinstance(value, Tensor):
                    value.data = backend.to_device(value.data, device)
        return self

    # ---------------------------------------------------------------------- state dicts
    def state_dict(self):
        """``{"state": {index: {...}}, "param_groups": [{options..., "params": [indices]}]}``.

        As in PyTorch the state tensors are not copied: save the dict (``minigan.save``) or
        deep-copy it before training further.
        """
        index, groups = {}, []
        for group in self.param_groups:
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            options = {k: v for k, v in group.items() if k != "params"}
            groups.append({**options, "params": [index[id(p)] for p in group["params"]]})
        state = {}
        for p, values in self.state.items():
            state[index[id(p)]] = {k: Tensor(v.data) if isinstance(v, Tensor) else v
                                   for k, v in values.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore options and state saved by `state_dict` (Tensors or arrays, any device)
        onto this optimizer's parameters: state goes to each parameter's device, floating
        state to its dtype, and nothing is shared with ``state_dict``."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter groups, "
                             f"this optimizer has {len(self.param_groups)}")
        by_index = {}
        for group, saved in zip(self.param_groups, saved_groups):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(f"loaded state dict contains a parameter group of "
                                 f"{len(saved['params'])} parameters, which doesn't match the "
                                 f"size of this optimizer's group ({len(group['params'])})")
            by_index.update(zip(saved["params"], group["params"]))
        self.state = {}
        for key, values in state_dict["state"].items():
            param = by_index[int(key)]  # keys become strings in some file formats
            self.state[param] = {name: self._restore(value, param) for name, value in values.items()}
        for group, saved in zip(self.param_groups, saved_groups):
            group.update({k: v for k, v in saved.items() if k != "params"})

    @staticmethod
    def _restore(value, param):
        if isinstance(value, Tensor):
            value = value.data
        if not backend.is_array(value):
            return value  # a plain number such as Adam's step count
        dtype = param.dtype if backend.is_floating(value.dtype) else None
        return Tensor(backend.to_device(value, param.device, dtype).copy())

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines) + "\n)"
