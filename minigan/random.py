"""Random numbers drawn on the device that uses them, from seeded generators.

A GAN training step draws fresh random numbers all the time: latent vectors z, instance
noise, dropout masks, the gradient penalty's interpolation weights. Drawn on the host, each
would be copied to the GPU on every call; drawn on the device, nothing crosses the bus.

`Generator(device)` is PyTorch's ``torch.Generator``: a seed and an *offset*, the number of
draws made so far. Draw ``k`` comes from a fresh backend generator seeded with
``[seed, k]`` (``xp.random.default_rng``: NumPy's PCG64 on "cpu" and "strict", CuPy's XORWOW
on "cuda"). The stream is a pure function of (seed, offset), as with counter-based
generators (JAX's keys, Philox), so the whole state is two integers: a checkpoint stores it
and a resumed run draws exactly the numbers the uninterrupted run would have drawn, on every
backend. Building a generator costs about 20 us per draw on NumPy and one small kernel on CuPy.

Same seed, same device -> same numbers. NumPy and CuPy use different bit generators, so a
"cuda" run differs from a "cpu" run with the same seed. Layer initialisation is not drawn
here: it draws once, on the host, from `minigan.creation.default_generator`, so a seed gives
the same initial weights on every device. `minigan.manual_seed` seeds both.
"""
from . import backend

_seed = 0            # the seed of every device's default generator (`manual_seed`)
_defaults = {}       # device name -> its default Generator, created on first use


class Generator:
    """A seeded stream of random numbers drawn on ``device`` (as ``torch.Generator``)."""

    def __init__(self, device="cpu"):
        self.device = backend.parse_device(device)
        self.manual_seed(0)

    def manual_seed(self, seed):
        """Restart the stream from ``seed`` (a non-negative integer); returns the generator."""
        if isinstance(seed, bool) or int(seed) != seed or seed < 0:
            raise ValueError(f"Generator.manual_seed: a seed is a non-negative integer, "
                             f"got {seed!r}")
        self.seed, self.offset = int(seed), 0
        return self

    def initial_seed(self):
        return self.seed

    def get_state(self):
        """The whole state, for checkpoints: ``{"seed": s, "offset": draws so far}``."""
        return {"seed": self.seed, "offset": self.offset}

    def set_state(self, state):
        if not isinstance(state, dict) or set(state) != {"seed", "offset"}:
            raise ValueError(f"Generator.set_state: expected {{'seed': ..., 'offset': ...}} "
                             f"(from get_state), got {state!r:.80}; a checkpoint saved by an "
                             f"older minigan holds a host generator's state instead")
        self.manual_seed(int(state["seed"]))
        self.offset = int(state["offset"])

    def _draw(self, method, shape, dtype):
        """Draw number ``offset``: a fresh backend generator keyed by [seed, offset]."""
        with backend.device_context(self.device):  # cuda:1's numbers are made on cuda:1
            rng = backend.xp_for(self.device).random.default_rng([self.seed, self.offset])
            self.offset += 1
            return getattr(rng, method)(shape, dtype=dtype)

    # Only methods CuPy's Generator has (random, standard_normal), so every device can draw.
    def random(self, shape, dtype):
        """Uniform samples in [0, 1) of ``shape``, an array on the generator's device."""
        return self._draw("random", shape, dtype)

    def standard_normal(self, shape, dtype):
        """N(0, 1) samples of ``shape``, an array on the generator's device."""
        return self._draw("standard_normal", shape, dtype)

    def __repr__(self):
        return f"Generator(device={self.device!r}, seed={self.seed}, offset={self.offset})"


def default_generator(device):
    """The generator ``device`` draws from when none is given (as torch.cuda.default_generators)."""
    device = backend.parse_device(device)
    if device not in _defaults:
        _defaults[device] = Generator(device).manual_seed(_seed)
    return _defaults[device]


def manual_seed_all(seed):
    """Reseed every device's default generator (called by `minigan.manual_seed`)."""
    global _seed
    _seed = seed
    for generator in _defaults.values():
        generator.manual_seed(seed)


def get_rng_state():
    """The states of all device default generators, for checkpoints (``{device: state}``)."""
    return {device: g.get_state() for device, g in _defaults.items()}


def set_rng_state(states):
    for device, state in states.items():
        default_generator(device).set_state(state)
