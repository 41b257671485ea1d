"""Containers: `Sequential` (run children in order) and `ModuleList` (a list that registers
its modules, so their parameters are found). Children are named "0", "1", ..., which is where
state_dict keys like ``"0.weight"`` come from."""
from .module import Module


class ModuleList(Module):
    """A list of modules whose parameters the parent can see (a plain Python list hides them)."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, index):
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return type(self)().extend(modules[index])  # a Sequential slice stays a Sequential
        return modules[index]

    def __setitem__(self, index, module):
        index = range(len(self))[index]  # negative indices, and an IndexError when out of range
        self.add_module(str(index), module)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self


class Sequential(ModuleList):
    """``Sequential(a, b, c)(x) == c(b(a(x)))``. Also ``Sequential(OrderedDict(name=module))``."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], dict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            self.extend(modules)

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input
