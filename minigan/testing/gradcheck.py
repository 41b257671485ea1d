"""Numerical gradient checking: is a hand-written backward right? See ``docs/06_gradcheck.md``.

`gradcheck` compares backprop with central finite differences of the scalar function
``L(x) = sum(f(x) * u)`` for a *random* upstream gradient ``u`` (an all-ones ``u`` hides
errors such as a transposed gradient, or batch norm's, whose sum is always zero).

- Small inputs: every element is perturbed, so the report names the worst element.
- Large inputs: a few random directions ``d`` are checked, ``dL/dx . d`` against
  ``(L(x + h d) - L(x - h d)) / 2h``, which costs two evaluations per direction.
- Kinks: where left and right one-sided derivatives disagree the point is not
  differentiable, and `NondifferentiableError` says so instead of a mysterious mismatch.

`gradgradcheck` applies `gradcheck` to the function ``(x, u) -> grad(f(x), x, u)`` built with
``create_graph=True``: the second-order check of the backward pass itself.
"""
import numpy

from .. import backend
from ..autograd import Tensor, grad


class GradcheckError(AssertionError):
    """Backprop and finite differences disagree."""


class NondifferentiableError(GradcheckError):
    """The function has a kink at the point checked (left and right derivatives differ)."""


def _as_inputs(inputs):
    tensors = []
    for x in inputs:
        if not isinstance(x, Tensor):
            x = Tensor(x, dtype="float64")
        tensors.append(x)
    for x in tensors:
        if x.requires_grad and x.dtype != numpy.float64:
            raise TypeError(f"gradcheck needs float64 inputs (finite differences in float32 are "
                            f"too noisy), got {x.dtype} for an input of shape {x.shape}")
    return tensors


def _outputs(fn, inputs):
    out = fn(*inputs)
    return [out] if isinstance(out, Tensor) else [o for o in out if o is not None]


def _loss(fn, inputs, upstream):
    """L = sum_k sum(f_k(x) * u_k), as a Python float.

    Not under no_grad: for gradgradcheck, ``fn`` itself runs a backward pass."""
    outs = _outputs(fn, inputs)
    return float(sum((backend.to_numpy(o.data) * u).sum() for o, u in zip(outs, upstream)))


def _random_like(rng, shape):
    return rng.standard_normal(shape)


def _numeric_directional(fn, inputs, upstream, x, direction, eps):
    """(L(x + eps d) - L(x - eps d)) / 2 eps and the one-sided derivatives, for kink detection."""
    xp = backend.get_array_module(x.data)
    original = x.data
    d = backend.to_device(direction, x.device, x.dtype)
    values = {}
    for k in (-2, -1, 1, 2):
        with backend.device_context(x.device):
            x.data = original + xp.asarray(k * eps, dtype=x.dtype) * d
        values[k] = _loss(fn, inputs, upstream)
    x.data = original
    values[0] = _loss(fn, inputs, upstream)
    central = (values[1] - values[-1]) / (2 * eps)
    left = (3 * values[0] - 4 * values[-1] + values[-2]) / (2 * eps)
    right = (-3 * values[0] + 4 * values[1] - values[2]) / (2 * eps)
    return central, left, right


def gradcheck(fn, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, max_elements=64,
              directions=3, detect_nondifferentiable=True, upstream=None):
    """Check first derivatives of ``fn`` at ``inputs`` (float64 Tensors; those with
    ``requires_grad`` are checked). Returns True or raises `GradcheckError`."""
    inputs = _as_inputs(inputs)
    checked = [i for i, x in enumerate(inputs) if x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    rng = numpy.random.default_rng(seed)
    outs = _outputs(fn, inputs)
    if upstream is None:
        upstream = [_random_like(rng, o.shape) for o in outs]
    roots = [o for o in outs if o.requires_grad]
    if not roots:
        raise GradcheckError("gradcheck: no output depends on an input that requires grad")
    root_grads = [Tensor(backend.to_device(u, o.device, o.dtype))
                  for o, u in zip(outs, upstream) if o.requires_grad]
    wrt = [inputs[i] for i in checked]
    analytic = grad(roots, wrt, root_grads, allow_unused=True)

    for i, x, g in zip(checked, wrt, analytic):
        g = numpy.zeros(x.shape) if g is None else backend.to_numpy(g.data)
        if x.size <= max_elements:
            probes = []
            for index in numpy.ndindex(*x.shape):
                d = numpy.zeros(x.shape)
                d[index] = 1.0
                probes.append((f"element {index}", d, float(g[index])))
        else:
            probes = []
            for k in range(directions):
                d = _random_like(rng, x.shape)
                probes.append((f"random direction {k}", d, float((g * d).sum())))
        failures = []
        for where, d, expected in probes:
            central, left, right = _numeric_directional(fn, inputs, upstream, x, d, eps)
            tolerance = atol + rtol * abs(central)
            if detect_nondifferentiable and abs(left - right) > 10 * tolerance:
                raise NondifferentiableError(
                    f"input {i} (shape {x.shape}) at {where}: left and right derivatives differ "
                    f"({left:.6g} vs {right:.6g}; backprop says {expected:.6g}): the point is not "
                    f"differentiable, so no gradient is right there; move the input away from the kink")
            error = abs(expected - central)
            if error > tolerance:
                failures.append((error, where, expected, central))
        if failures:
            failures.sort(key=lambda f: -f[0])
            error, where, expected, central = failures[0]
            raise GradcheckError(
                f"input {i} (shape {x.shape}): {len(failures)} of {len(probes)} checks failed; "
                f"worst at {where}: backprop {expected:.8g}, finite differences "
                f"{central:.8g} (abs error {error:.3g}; atol {atol}, rtol {rtol})")
    return True


def gradgradcheck(fn, inputs, *, seed=0, **kwargs):
    """Check second derivatives: differentiate ``(x, u) -> grad(fn(x), x, u)`` numerically.

    The upstream gradients ``u`` become inputs too, because a backward pass is linear in
    them and must be differentiable with respect to them as well.
    """
    inputs = _as_inputs(inputs)
    checked = [i for i, x in enumerate(inputs) if x.requires_grad]
    rng = numpy.random.default_rng(seed + 1)
    outs = _outputs(fn, inputs)
    upstream = [Tensor(backend.to_device(rng.standard_normal(o.shape), o.device, o.dtype),
                       requires_grad=True) for o in outs if o.requires_grad]
    n = len(inputs)

    def first_derivatives(*args):
        xs, us = list(args[:n]), list(args[n:])
        roots = [o for o in _outputs(fn, xs) if o.requires_grad]
        grads = grad(roots, [xs[i] for i in checked], us, create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None and g.requires_grad)

    return gradcheck(first_derivatives, inputs + upstream, seed=seed + 2, **kwargs)
