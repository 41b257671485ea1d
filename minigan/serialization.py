"""Checkpoints: `save` and `load` nested dicts of tensors to a ``.npz`` file, without pickle.

    minigan.save({"generator": G.state_dict(), "opt_g": opt_g.state_dict(), "step": 10},
                 "ckpt.npz")
    G.load_state_dict(minigan.load("ckpt.npz")["generator"])

The file is an ordinary NumPy ``.npz`` (a zip of ``.npy`` arrays): every array is stored under
its path in the tree (``"generator/0.weight"``), so ``numpy.load`` can inspect it. Everything
else (numbers, strings, lists, the shape of the tree) goes into one JSON entry,
``__minigan__``, where each array is a reference ``{"__array__": "generator/0.weight"}``.
No pickle means loading a file can never run code.

Writes are atomic (`minigan.utils.io.atomic_open`): an interrupted save leaves the previous
checkpoint intact instead of a truncated file.
"""
import json
import os
import zipfile

from . import backend
from .autograd import Tensor
from .backend import np
from .utils.io import atomic_open

FORMAT = "minigan-checkpoint"
VERSION = 1
META_KEY = "__minigan__"


def save(obj, path):
    """Write ``obj`` (nested dicts/lists of Tensors, arrays, numbers, strings, None) to ``path``
    atomically. Tensors on any device are copied to the host first."""
    arrays = {}
    tree = _encode(obj, "", arrays)
    meta = json.dumps({"format": FORMAT, "version": VERSION, "tree": tree})
    arrays[META_KEY] = np.array(meta)  # a unicode array: readable without pickle
    with atomic_open(path, "wb") as f:
        _write_npz(f, arrays)


def _write_npz(file, arrays):
    np.savez(file, **arrays)


def _encode(obj, path, arrays):
    """The JSON-able skeleton of ``obj``; arrays are collected into ``arrays`` by path."""
    if isinstance(obj, Tensor) or backend.is_array(obj) or isinstance(obj, np.generic):
        host = backend.to_numpy(obj.data if isinstance(obj, Tensor) else obj)
        if host.dtype == object:
            raise TypeError(f"minigan.save: the array at {path or '<root>'!r} holds Python objects, "
                            f"which would need pickle")
        name = path or "<root>"
        while name in arrays or name == META_KEY:  # keys containing "/" could collide
            name += "'"
        arrays[name] = host
        return {"__array__": name}
    if isinstance(obj, dict):
        items = [[k, _encode(v, f"{path}/{k}" if path else str(k), arrays)] for k, v in obj.items()]
        if all(isinstance(k, str) and not k.startswith("__") for k, _ in items):
            return dict(items)
        if not all(isinstance(k, (str, int, float, bool)) or k is None for k, _ in items):
            raise TypeError(f"minigan.save: dict keys at {path or '<root>'!r} must be strings or "
                            f"numbers, got {[type(k).__name__ for k, _ in items]}")
        return {"__items__": items}  # keeps int keys (optimizer state) as ints
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, f"{path}/{i}" if path else str(i), arrays) for i, v in enumerate(obj)]
        return {"__tuple__": items} if isinstance(obj, tuple) else items
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"minigan.save: cannot store {type(obj).__name__} at {path or '<root>'!r}; "
                    f"use dicts, lists, Tensors, arrays, numbers, strings and None")


def load(path, device=None):
    """Read a checkpoint written by `save`. Arrays come back as host NumPy arrays, or as
    Tensors on ``device`` if one is given. Loading never touches a live model: pass the
    result to ``model.load_state_dict``, which copies into the model's own tensors."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"minigan.load: no checkpoint at {path!r}")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"minigan.load: {path!r} is not a minigan checkpoint (not an .npz file)")
    with np.load(path, allow_pickle=False) as npz:
        if META_KEY not in npz.files:
            raise ValueError(f"minigan.load: {path!r} is an .npz file but not a minigan "
                             f"checkpoint (no {META_KEY!r} entry)")
        meta = json.loads(npz[META_KEY].item())
        if meta.get("format") != FORMAT or meta.get("version", 0) > VERSION:
            raise ValueError(f"minigan.load: {path!r} has format {meta.get('format')!r} "
                             f"version {meta.get('version')}; this minigan reads {FORMAT!r} "
                             f"up to version {VERSION}")
        return _decode(meta["tree"], npz, device)


def _decode(tree, npz, device):
    if isinstance(tree, list):
        return [_decode(v, npz, device) for v in tree]
    if not isinstance(tree, dict):
        return tree
    if "__array__" in tree:
        host = npz[tree["__array__"]]
        return host if device is None else Tensor(backend.to_device(host, device))
    if "__tuple__" in tree:
        return tuple(_decode(v, npz, device) for v in tree["__tuple__"])
    if "__items__" in tree:
        return {k: _decode(v, npz, device) for k, v in tree["__items__"]}
    return {k: _decode(v, npz, device) for k, v in tree.items()}
