"""Diffusion-GAN (Wang, Zheng, He, Chen & Zhou 2022): show D diffused samples, not clean ones.

Both real and generated samples go through the forward diffusion chain before D sees them
(Wang et al. 2022):

    y = sqrt(abar_t) x + sqrt(1 - abar_t) sigma eps,    eps ~ N(0, I),
    abar_t = prod_{s <= t} (1 - beta_s),   beta_s linear from beta_1 = 1e-4 to beta_T = 0.02,

with a timestep t ~ p_pi on {1, ..., T} drawn per sample: uniform, or "priority"
p_pi(t) = t / sum_s s, which favours the noisier steps. Like instance noise, the noise makes
the supports of the two distributions overlap, so D cannot separate them perfectly and G's
gradient stays informative; unlike a fixed noise level, several levels are mixed and the
noise is differentiable in x, so G learns through it.

The length T of the chain adapts to how much D overfits ("adaptive diffusion"), every few
minibatches:

    r_d = E_{y, t}[sign(D(y, t) - 1/2)]        on diffused *real* data (sign(logit) here),
    T  <- clip(T + sign(r_d - d_target) * C, T_min, T_max),    d_target = 0.6,

so a D that is too sure of the real data (r_d > d_target) gets more noise. The paper also
feeds t to D; `DiffusionNoise` returns t for a D that takes it (`DiffusionGANTrainer` trains
with a D that does not). See ``docs/08_gan_objectives.md``.
"""
from .. import backend
from ..autograd import Tensor
from ..creation import rand, randn
from .trainer import GANTrainer


def alpha_bar(T, beta_start=1e-4, beta_end=0.02):
    """abar_1..abar_T for a linear beta schedule over T steps (a small host table, (T,))."""
    np = backend.np
    betas = np.linspace(beta_start, beta_end, int(T)) if T > 1 else np.array([beta_start])
    return np.cumprod(1.0 - betas)


def sample_timesteps(n, T, schedule="priority", generator=None, device=None):
    """n timesteps in {1, ..., T}, an integer array on ``device``: "uniform", or "priority"
    with p(t) = t / sum_s s. Drawn by inverting the CDF of a uniform u (so any generator
    `minigan.rand` takes will do): uniform t = floor(u T) + 1; priority, whose CDF is
    F(t) = t (t + 1) / (T (T + 1)), the smallest t with F(t) >= u."""
    T = int(T)
    u = rand(n, dtype="float64", device=device, generator=generator).data
    with backend.device_context(backend.device_of(u)):
        return _invert_cdf(backend.get_array_module(u), u, T, schedule)


def _invert_cdf(xp, u, T, schedule):
    if schedule == "uniform":
        t = xp.floor(u * T) + 1
    elif schedule == "priority":
        t = xp.ceil((xp.sqrt(1.0 + 4.0 * u * T * (T + 1)) - 1.0) / 2.0)
    else:
        raise ValueError(f"sample_timesteps: schedule must be 'uniform' or 'priority', "
                         f"got {schedule!r}")
    return xp.clip(t, 1, T).astype("int64")


@backend.on_input_device  # the schedule's table and the scales live on x's device
def diffuse(x, t, T, sigma=0.05, beta_start=1e-4, beta_end=0.02, noise=None, generator=None):
    """y = sqrt(abar_t) x + sqrt(1 - abar_t) sigma eps, one t per sample ((N,) integers, an
    array on x's device or a host array).

    Differentiable in x (so G's gradient passes through); ``noise`` may be given for tests.
    """
    xp = backend.xp_for(x.device)
    table = backend.to_device(alpha_bar(T, beta_start, beta_end), x.device, x.dtype)
    a = table[backend.to_device(t, x.device) - 1].reshape((x.shape[0],) + (1,) * (x.ndim - 1))
    scale, spread = Tensor(xp.sqrt(a)), Tensor(sigma * xp.sqrt(1.0 - a))
    if noise is None:
        noise = randn(*x.shape, dtype=x.dtype, device=x.device, generator=generator)
    return scale * x + spread * noise


class DiffusionNoise:
    """Diffuse D's inputs with an adaptive chain length T (Diffusion-GAN).

    noise = DiffusionNoise();  y, t = noise(x, generator)   (for real and fake batches)
    noise.update(D(y_real))    after each D step: adapts T every ``interval`` calls
    """

    def __init__(self, t_min=5, t_max=500, t_init=None, sigma=0.05, beta_start=1e-4,
                 beta_end=0.02, d_target=0.6, step=1.0, interval=4, schedule="priority"):
        if not 1 <= t_min <= t_max:
            raise ValueError(f"DiffusionNoise: need 1 <= t_min <= t_max, got {t_min}, {t_max}")
        self.t_min, self.t_max = t_min, t_max
        self.T = float(t_min if t_init is None else t_init)
        self.sigma, self.beta_start, self.beta_end = sigma, beta_start, beta_end
        self.d_target, self.step, self.interval, self.schedule = d_target, step, interval, schedule
        # sum of sign(D(y_real)) since T last moved: on the device, plus a host part that a
        # loaded checkpoint brings
        self._signs, self._host_signs, self._count, self._updates = None, 0.0, 0, 0
        self.r_d = 0.0

    @property
    def current_T(self):
        """The chain length in use: T rounded to a whole number of steps."""
        return int(round(self.T))

    def __call__(self, x, generator=None):
        """(y, t): x diffused at timesteps t ~ p_pi on {1, ..., current_T}."""
        t = sample_timesteps(x.shape[0], self.current_T, self.schedule, generator, x.device)
        return diffuse(x, t, self.current_T, self.sigma, self.beta_start, self.beta_end,
                       generator=generator), t

    def update(self, real_logits):
        """Accumulate sign(D(y_real)); every ``interval`` calls set r_d to their mean and move
        T by sign(r_d - d_target) * step, within [t_min, t_max]. Returns the current T.
        The sum stays on the device until then: one transfer per ``interval`` calls."""
        data = real_logits.detach().data
        with backend.device_context(backend.device_of(data)):
            signs = backend.get_array_module(data).sign(data).sum()
            self._signs = signs if self._signs is None else self._signs + signs
        self._count += data.size
        self._updates += 1
        if self._updates % self.interval == 0:
            self.r_d = self._sign_sum() / self._count
            direction = (self.r_d > self.d_target) - (self.r_d < self.d_target)
            self.T = min(float(self.t_max), max(float(self.t_min), self.T + direction * self.step))
            self._signs, self._host_signs, self._count = None, 0.0, 0
        return self.current_T

    def _sign_sum(self):
        device_part = 0.0 if self._signs is None else float(backend.to_numpy(self._signs))
        return self._host_signs + device_part

    def state_dict(self):
        return {"T": self.T, "r_d": self.r_d, "signs": self._sign_sum(), "count": self._count,
                "updates": self._updates}

    def load_state_dict(self, state):
        self.T, self.r_d = float(state["T"]), float(state["r_d"])
        self._signs, self._host_signs = None, float(state["signs"])
        self._count, self._updates = int(state["count"]), int(state["updates"])


class DiffusionGANTrainer(GANTrainer):
    """`GANTrainer` whose D sees only diffused inputs, real and fake, in both steps (on top of
    any instance noise), with T adapted from D's real logits after every D loss. Logs "T"."""

    def __init__(self, *args, diffusion=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.diffusion = diffusion or DiffusionNoise()

    def _with_noise(self, x):
        return self.diffusion(super()._with_noise(x), self.rng)[0]

    def discriminator_loss(self, real_out, fake_out):
        self.diffusion.update(real_out)
        return super().discriminator_loss(real_out, fake_out)

    def d_step(self, real, fake, labels=None):
        log = super().d_step(real, fake, labels)
        log["T"] = float(self.diffusion.current_T)
        return log

    def state_dict(self):
        return {**super().state_dict(), "diffusion": self.diffusion.state_dict()}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.diffusion.load_state_dict(state["diffusion"])
