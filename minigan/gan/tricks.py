"""Small tricks that make GAN training more stable, each switchable on its own.

- instance noise (Sønderby et al. 2016; Arjovsky & Bottou 2017): blur both distributions
  with Gaussian noise, annealed to zero, so their supports overlap and D cannot be perfect;
- feature matching (Salimans et al. 2016): G matches the mean of D's features on real data
  instead of fooling D's last layer;
- minibatch standard deviation (Karras et al. 2018): D sees how varied the batch is, so a
  collapsed generator is easy to spot;
- historical averaging (Salimans et al. 2016): penalise parameters for straying from their
  own running average, damping oscillations;
- skipping D updates while D's loss is already low, so a too-strong D waits for G;
- the learning-rate decay of CycleGAN and Pix2Pix: constant, then linearly to 0.

Two time-scale learning rates (TTUR, Heusel et al. 2017) need no code: give D's and G's
optimizers different ``lr``.

(One-sided label smoothing is the ``real_label`` argument of `minimax_d_loss`; spectral
norm, virtual batch norm and EMA have files of their own.) See ``docs/08_gan_tricks.md``.
"""
from .. import backend
from ..autograd import no_grad
from ..creation import randn
from ..nn import Module
from ..ops import mean, var, sqrt, reshape, broadcast_to, concat


# ------------------------------------------------------------------------- instance noise
def instance_noise_std(step, initial_std, anneal_steps):
    """Linear annealing: ``initial_std`` at step 0, reaching 0 at ``anneal_steps``."""
    if initial_std == 0 or anneal_steps <= 0:
        return 0.0
    return initial_std * max(0.0, 1.0 - step / anneal_steps)


def add_instance_noise(x, std, generator=None):
    """x + N(0, std^2) noise, drawn afresh for every element (no-op for std = 0).
    Add it to *both* real and fake inputs of D."""
    if std == 0:
        return x
    return x + std * randn(*x.shape, dtype=x.dtype, device=x.device, generator=generator)


# ---------------------------------------------------------------------- feature matching
def feature_matching_loss(real_features, fake_features):
    """L_G = || E_x f(x) - E_z f(G(z)) ||_2^2 for D's intermediate features f (N, ...).

    The real statistics are a fixed target for G, so they are detached.
    """
    target = mean(real_features.detach(), dim=0)
    diff = mean(fake_features, dim=0) - target
    return (diff * diff).sum()


# ------------------------------------------------------------- minibatch standard deviation
def minibatch_stddev(x, eps=1e-8):
    """Append one feature (N, F) -> (N, F + 1), or channel (N, C, H, W) -> (N, C + 1, H, W),
    holding s = mean over features/positions of the std over the batch:
        s = mean_j sqrt(Var_n[x_nj] + eps)
    A batch of near-identical samples (mode collapse) gives s ~ 0, which D can detect.
    """
    if x.shape[0] < 2:
        raise ValueError(f"minibatch_stddev: needs a batch of at least 2 samples, got {x.shape}")
    std = sqrt(var(x, dim=0, unbiased=False) + eps)
    s = reshape(mean(std), (1,) * x.ndim)
    extra = broadcast_to(s, (x.shape[0], 1) + x.shape[2:])
    return concat([x, extra], dim=1)


class MinibatchStdDev(Module):
    """`minibatch_stddev` as a layer, placed near the end of the discriminator."""

    def __init__(self, eps=1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, x):
        return minibatch_stddev(x, self.eps)


# -------------------------------------------------------------------- historical averaging
class HistoricalAverage:
    """penalty = weight * sum_i || theta_i - mean_{t' < t} theta_i(t') ||^2

    Keeps the running mean of each parameter's past values (updated by `update`, called
    after every optimizer step) and returns the penalty to add to that network's loss.
    """

    def __init__(self, parameters, weight=1.0):
        self.parameters = list(parameters)
        self.weight = weight
        self.count = 0
        self.averages = []
        for p in self.parameters:
            with backend.device_context(p.device):  # CuPy copies onto the current device
                self.averages.append(p.data.copy())

    def penalty(self):
        total = 0.0
        for p, avg in zip(self.parameters, self.averages):
            diff = p - avg
            total = total + (diff * diff).sum()
        return self.weight * total

    def update(self):
        """Fold the current values into the running mean: avg += (theta - avg) / (t + 1)."""
        with no_grad():
            self.count += 1
            for i, p in enumerate(self.parameters):
                average = self.averages[i]
                with backend.device_context(p.device):
                    self.averages[i] = average + (p.data - average) / float(self.count)

    def state_dict(self):
        state = {f"average.{i}": avg for i, avg in enumerate(self.averages)}
        state["count"] = self.count
        return state

    def load_state_dict(self, state):
        self.count = int(state["count"])
        for i, p in enumerate(self.parameters):
            self.averages[i] = backend.to_device(backend.to_numpy(state[f"average.{i}"]),
                                                 p.device, p.dtype)


# ------------------------------------------------------------------- adaptive D skipping
def skip_d_update(d_loss, threshold=None):
    """True when the D update should be skipped: its loss (a float) is already below
    ``threshold`` (None: never skip). A D that wins too easily leaves G vanishing gradients;
    pausing it lets G catch up. A folk trick of the GAN tutorials (e.g. "train D only while
    its loss is above 0.3"), not a paper's; the threshold depends on the objective (for the
    ns loss, 2 log 2 = 1.39 is the value at D = 1/2 everywhere)."""
    return threshold is not None and d_loss < threshold


# -------------------------------------------------------------------- learning-rate decay
def linear_decay(steps, decay_start=0.5):
    """The lr factor of CycleGAN and Pix2Pix (Zhu et al. 2017, Sec. 7.1: 100 epochs at
    2e-4, then 100 falling linearly to 0), for `optim.lr_scheduler.LambdaLR`: 1 for the first
    ``decay_start`` share of ``steps``, then a straight line to 0 at step ``steps``.

        factor(step) = min(1, (steps - step) / (steps - decay_start * steps))

    The last step (steps - 1) trains at 1 / (steps - decay_start * steps) of the lr;
    decay_start = 1 keeps the lr constant. A plain function, so LambdaLR saves nothing of it:
    a resumed run rebuilds it from its settings."""
    begin = decay_start * steps

    def factor(step):
        return min(1.0, (steps - step) / max(1.0, steps - begin))
    return factor
