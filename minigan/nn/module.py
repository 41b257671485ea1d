"""`Module`: the base class of every layer and model, shaped like ``torch.nn.Module``.

A module owns three kinds of state, each kept in its own ordered dict:

- parameters (``_parameters``): `Parameter` tensors the optimizer learns (weights, biases);
- buffers (``_buffers``): tensors that are state but not learned (batch norm's running
  mean). *Persistent* buffers are saved in ``state_dict()``;
- submodules (``_modules``): the children, which have their own state.

``__setattr__`` sorts an assigned value into the right dict, so ``self.fc = Linear(2, 3)``
is all it takes to register a child. Walking the tree gives ``parameters()``,
``state_dict()`` keys like ``"0.weight"`` or ``"bn.running_mean"``, and ``to(device)``.
See ``docs/10_nn_and_optim.md``.
"""
import collections

from .. import backend
from ..autograd import Tensor
from .parameter import Parameter

IncompatibleKeys = collections.namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Base class: subclasses call ``super().__init__()`` first, then assign their layers."""

    def __init__(self):
        # object.__setattr__: our own __setattr__ needs these dicts to exist already.
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", {})

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward() method")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------------- registration
    def _state_dicts(self, name):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {name!r} before Module.__init__() was called "
                                 f"(call super().__init__() first in {type(self).__name__})")
        return self._parameters, self._buffers, self._modules

    def __setattr__(self, name, value):
        if isinstance(value, (Parameter, Module)):
            params, _, modules = self._state_dicts(name)
            store = params if isinstance(value, Parameter) else modules
            self._forget(name, keep=store)
            store[name] = value
        elif name in self.__dict__.get("_parameters", {}):
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter {name!r} "
                                f"(minigan.nn.Parameter or None expected)")
            self._parameters[name] = None
        elif name in self.__dict__.get("_buffers", {}):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer {name!r} "
                                f"(Tensor or None expected)")
            self._buffers[name] = value
        elif name in self.__dict__.get("_modules", {}):
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module {name!r} "
                                f"(Module or None expected)")
            self._modules[name] = None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        # Only called when normal lookup fails: registered state lives in the three dicts.
        for store in ("_parameters", "_buffers", "_modules"):
            found = self.__dict__.get(store, {})
            if name in found:
                return found[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute {name!r}")

    def __delattr__(self, name):
        if not self._forget(name):
            object.__delattr__(self, name)

    def _forget(self, name, keep=None):
        """Remove ``name`` from the registries other than ``keep`` (re-assigning in ``keep``
        keeps its place in the order) and from the instance dict; True if it was registered."""
        found = False
        for store in (self._parameters, self._buffers, self._modules):
            if store is not keep:
                found = store.pop(name, False) is not False or found
        self._non_persistent_buffers.discard(name)
        self.__dict__.pop(name, None)
        return found

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter, or None for an absent one such as ``bias=False``)."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot register {type(param).__name__} as parameter {name!r} "
                            f"(minigan.nn.Parameter or None expected)")
        self._state_dicts(name)
        self._forget(name, keep=self._parameters)
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Register a non-learned tensor; persistent buffers go into ``state_dict()``."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot register {type(tensor).__name__} as buffer {name!r} "
                            f"(Tensor or None expected)")
        self._state_dicts(name)
        self._forget(name, keep=self._buffers)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent_buffers.add(name)

    def add_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._state_dicts(name)
        self._forget(name, keep=self._modules)
        self._modules[name] = module

    register_module = add_module

    # ----------------------------------------------------------------- walking the tree
    def named_modules(self, memo=None, prefix=""):
        """(name, module) for this module and all below it, each module once."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(memo, prefix + ("." if prefix else "") + name)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        for name, child in self._modules.items():
            if child is not None:
                yield name, child

    def children(self):
        for _, child in self.named_children():
            yield child

    def _named_members(self, store, recurse):
        seen = set()  # a tensor shared by two layers (weight tying) is listed once
        modules = self.named_modules() if recurse else [("", self)]
        for prefix, module in modules:
            for name, value in getattr(module, store).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield prefix + ("." if prefix else "") + name, value

    def named_parameters(self, recurse=True):
        return self._named_members("_parameters", recurse)

    def parameters(self, recurse=True):
        for _, param in self.named_parameters(recurse):
            yield param

    def named_buffers(self, recurse=True):
        return self._named_members("_buffers", recurse)

    def buffers(self, recurse=True):
        for _, buffer in self.named_buffers(recurse):
            yield buffer

    def apply(self, fn):
        """Call ``fn(module)`` on every submodule, then on self (e.g. custom weight init)."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------------- modes and grads
    def train(self, mode=True):
        """Training mode (batch norm uses batch statistics, dropout drops) for the whole tree."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Freeze (False) or unfreeze every parameter, e.g. D while training G."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        for param in self.parameters():
            if param.grad is not None and not set_to_none:
                xp = backend.get_array_module(param.grad.data)
                with backend.device_context(param.device):
                    param.grad = Tensor(xp.zeros_like(param.grad.data))
            else:
                param.grad = None

    # ------------------------------------------------------------------ devices and dtypes
    def to(self, device=None, dtype=None):
        """Move parameters, buffers and gradients to ``device`` (and floating ones to
        ``dtype``) *in place*: the Parameter objects stay the same, so an optimizer built on
        them keeps working. Returns self. ``model.to("float64")`` is not a device: use
        ``model.to(dtype="float64")`` or ``model.double()``."""
        if device is not None and not isinstance(device, str):  # .to(dtype), as in PyTorch
            device, dtype = None, device
        device = backend.parse_device(device) if device is not None else None
        dtype = backend.dtype(dtype) if dtype is not None else None

        def move(array):
            target = device or backend.device_of(array)
            cast = dtype if dtype is not None and backend.is_floating(array.dtype) else None
            return backend.to_device(array, target, cast)

        for tensor in list(self.parameters()) + list(self.buffers()):
            tensor.data = move(tensor.data)
            if tensor.grad is not None:  # a new Tensor: grads may be shared with other tensors
                tensor.grad = Tensor(move(tensor.grad.data))
        return self

    def cpu(self):
        return self.to("cpu")

    def float(self):
        return self.to(dtype="float32")

    def double(self):
        return self.to(dtype="float64")

    # ---------------------------------------------------------------------- state dicts
    def state_dict(self, prefix="", keep_vars=False):
        """An ordered dict ``name -> Tensor`` of parameters and persistent buffers.

        Like PyTorch, the tensors share memory with the model (no copy): save them, or copy
        them (``copy.deepcopy``) if you want a snapshot that training will not change.
        """
        result = collections.OrderedDict()
        for name, module in self.named_modules(prefix=prefix.rstrip(".")):
            dot = name + "." if name else ""
            for key, param in module._parameters.items():
                if param is not None:
                    result[dot + key] = param if keep_vars else Tensor(param.data)
            for key, buffer in module._buffers.items():
                if buffer is not None and key not in module._non_persistent_buffers:
                    result[dot + key] = buffer if keep_vars else Tensor(buffer.data)
        return result

    def load_state_dict(self, state_dict, strict=True):
        """Copy values (Tensors or arrays, any device) into this model's own tensors.

        The model keeps its device and dtypes: a checkpoint saved on a GPU loads into a CPU
        model and vice versa. ``strict`` requires exactly the same keys; shapes must always
        match. Returns ``(missing_keys, unexpected_keys)``.
        """
        own = self.state_dict(keep_vars=True)
        given = {k: v.data if isinstance(v, Tensor) else v for k, v in state_dict.items()}
        missing = [k for k in own if k not in given]
        unexpected = [k for k in given if k not in own]
        errors = []
        if strict and unexpected:
            errors.append("Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected))
        if strict and missing:
            errors.append("Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing))
        for key, target in own.items():
            shape = tuple(getattr(given.get(key, None), "shape", ()))
            if key in given and shape != target.shape:
                errors.append(f"size mismatch for {key}: copying a param with shape {shape} "
                              f"from checkpoint, the shape in current model is {target.shape}")
        if errors:  # checked before copying anything, so a failed load changes nothing
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        for key, target in own.items():
            if key in given:
                # Copy into the existing array: the model keeps its device, dtype and the
                # identity of its tensors, and shares no memory with the checkpoint.
                with backend.device_context(target.device):
                    target.data[...] = backend.to_device(given[key], target.device, target.dtype)
        return IncompatibleKeys(missing, unexpected)

    # ---------------------------------------------------------------------------- repr
    def extra_repr(self):
        """The text inside the parentheses, e.g. ``in_features=2, out_features=3, bias=True``."""
        return ""

    def __repr__(self):
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        children = []
        for name, child in self._modules.items():
            text = repr(child).replace("\n", "\n  ")  # indent the child's own lines
            children.append(f"({name}): {text}")
        if len(lines) == 1 and not children:
            return f"{type(self).__name__}({lines[0]})"
        body = lines + children
        if not body:
            return f"{type(self).__name__}()"
        return f"{type(self).__name__}(\n  " + "\n  ".join(body) + "\n)"
