"""`GANTrainer`: the alternating GAN training loop, small enough to read in one go.

One *step* is one generator update, after ``n_critic`` discriminator updates:

    for each of n_critic batches x:            # D step: learn to tell x from G(z)
        z ~ N(0, I);  fake = G(z)
        L_D = d_loss(D(x), D(fake.detach()))  (+ penalties)     -> update D only
    L_G = g_loss(D(fake))                      # G step: fool the D that was just updated
                                                                -> update G only

Two rules keep the players apart. The D step must not train G: it sees ``fake.detach()``,
so no gradient reaches G. The G step must not train D: D's parameters are frozen
(``requires_grad_(False)``) while G's loss is backpropagated *through* D, and only G's
optimizer steps. D stays in training mode in the G step, as in the PyTorch DCGAN example,
so its batch norm layers normalise the fake batch with that batch's own statistics.

Everything random (noise, instance noise, penalty interpolation) comes from the trainer's
own seeded generator, which draws on the models' device (`minigan.random`) and is saved in
`state_dict` with the models and optimizers, so a run that is stopped and resumed continues
exactly. See ``docs/08_gan_basics.md``.

On a GPU, reading a number back to the host waits for the GPU (a *sync*). A step makes one
per update: the update's logged numbers come back in one transfer, and a NaN or infinite loss
stops training before that update is applied (`_fetch`). With ``n_critic`` D updates that is
``n_critic + 1`` syncs per step; `tests/test_syncs.py` holds the trainer to it.
"""
import contextlib
import math

from .. import backend, kernels
from ..autograd import Tensor, no_grad
from ..creation import randn
from ..random import Generator
from ..ops import mean, sigmoid
from .ema import EMA
from .objectives import get_objective, minimax_d_loss
from .penalties import clip_weights, gradient_penalty, r1_penalty, lazy_r1_gamma
from .tricks import (add_instance_noise, instance_noise_std, feature_matching_loss,
                     HistoricalAverage, skip_d_update)


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or infinite: training has diverged and cannot go on."""

    def __init__(self, step, name, value):
        self.step, self.name, self.value = step, name, value
        super().__init__(f"{name} is {value} at step {step}: training diverged. Try a lower "
                         f"learning rate, a gradient penalty, or spectral normalisation.")


@contextlib.contextmanager
def _frozen(module):
    """Parameters of ``module`` stop requiring grad inside the block (no .grad is written)."""
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad = False
    try:
        yield
    finally:
        for p in params:
            p.requires_grad = True


class GANTrainer:
    """Alternating updates of ``generator`` (G) and ``discriminator`` (D).

    objective       name in `OBJECTIVES` ("ns", "wgan-gp", "hinge", ...) or an `Objective`
    n_critic        D updates per G update (5 for WGAN)
    gp_weight       WGAN-GP weight lambda (None: the objective's default, 10 for "wgan-gp")
    clip_value      WGAN weight clipping c (None: the objective's default)
    r1_gamma        weight of the R1 penalty on real data (0: off)
    r1_interval     lazy R1 (StyleGAN2): R1 every r1_interval steps, weighted by r1_interval
    d_skip_below    skip the D update when its loss is below this value (None: never)
    real_label      one-sided label smoothing for the minimax/ns objectives (e.g. 0.9)
    instance_noise  initial std of noise added to D's inputs, annealed linearly to 0
                    over ``noise_anneal_steps`` steps
    feature_matching  G matches the mean of D.features(x) instead of fooling D
    historical_weight  weight of the historical-averaging penalty, for both nets (0: off)
    ema_decay       keep an exponential moving average of G's weights (e.g. 0.999)
    num_classes     conditional GAN: batches are (x, labels); G(z, y) and D(x, y)
    seed            seeds the trainer's random generator
    num_samples     size of the fixed noise batch used by `sample` to show progress
    lr_schedulers   learning-rate schedulers (`minigan.optim.lr_scheduler`) of the optimizers,
                    stepped after every step (`_end_step`) and saved in `state_dict`
    """

    def __init__(self, generator, discriminator, g_optimizer, d_optimizer, objective="ns",
                 n_critic=1, gp_weight=None, clip_value=None, r1_gamma=0.0, real_label=1.0,
                 instance_noise=0.0, noise_anneal_steps=0, feature_matching=False,
                 historical_weight=0.0, ema_decay=None, num_classes=None, seed=0,
                 num_samples=64, r1_interval=1, d_skip_below=None, lr_schedulers=()):
        self.G, self.D = generator, discriminator
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        # A training loop frees and allocates the same large arrays every step: keep freed
        # memory in the process (minigan/kernels/memory.py; MINIGAN_KEEP_FREED_MEMORY=0: off).
        kernels.memory.keep_freed_memory()
        self.objective = get_objective(objective)
        if n_critic < 1:
            raise ValueError(f"GANTrainer: n_critic must be at least 1, got {n_critic}")
        self.n_critic = n_critic
        self.gp_weight = self.objective.gp_weight if gp_weight is None else gp_weight
        self.clip_value = self.objective.clip_value if clip_value is None else clip_value
        self.r1_gamma, self.real_label = r1_gamma, real_label
        self.r1_interval, self.d_skip_below = r1_interval, d_skip_below
        if real_label != 1.0 and self.objective.d_loss is not minimax_d_loss:
            raise ValueError("GANTrainer: label smoothing (real_label) applies to the minimax "
                             "and non-saturating objectives only")
        self.instance_noise, self.noise_anneal_steps = instance_noise, noise_anneal_steps
        self.feature_matching = feature_matching
        self.num_classes = num_classes
        first = next(generator.parameters())
        self.device, self.dtype = first.device, first.dtype
        self.rng = Generator(self.device).manual_seed(seed)
        self.nz = generator.nz
        self.fixed_noise = self.noise(num_samples)
        self.fixed_labels = None
        if num_classes:  # the progress samples cycle through the classes
            with backend.device_context(self.device):
                classes = backend.xp_for(self.device).arange(num_samples) % num_classes
            self.fixed_labels = Tensor(classes)
        self.ema = EMA(generator, ema_decay) if ema_decay else None
        self.historical = None
        if historical_weight:
            self.historical = {
                "D": HistoricalAverage(discriminator.parameters(), historical_weight),
                "G": HistoricalAverage(generator.parameters(), historical_weight)}
        self.lr_schedulers = list(lr_schedulers)
        self.step = 0
        self.history = []  # one dict of logged numbers per step
        self._batches, self._iterator = None, None

    # ---------------------------------------------------------------------------- helpers
    def noise(self, n):
        """z ~ N(0, I) of shape (n, nz), from the trainer's generator."""
        return randn(n, self.nz, dtype=self.dtype, device=self.device, generator=self.rng)

    def _as_tensor(self, x):
        """x as a Tensor of the trainer's device and dtype (a host array is copied over)."""
        return x if isinstance(x, Tensor) else Tensor(backend.to_device(x, self.device, self.dtype))

    def _as_batch(self, batch):
        """A batch is ``x`` or ``(x, labels)``; x may be a Tensor or a host array."""
        x, labels = batch if isinstance(batch, (tuple, list)) else (batch, None)
        x = self._as_tensor(x)
        if self.num_classes and labels is None:
            raise ValueError("GANTrainer: a conditional GAN (num_classes set) needs "
                             "(x, labels) batches")
        if labels is not None and not isinstance(labels, Tensor):
            labels = Tensor(backend.to_device(labels, self.device))
        return x, labels

    def _call(self, net, x, labels):
        return net(x) if labels is None else net(x, labels)

    def _features(self, x, labels):
        return self.D.features(x) if labels is None else self.D.features(x, labels)

    def _with_noise(self, x):
        std = instance_noise_std(self.step, self.instance_noise, self.noise_anneal_steps)
        return add_instance_noise(x, std, generator=self.rng)

    def _mean_output(self, scores):
        """What D says on average: a probability for logits, the raw score for critics."""
        scores = scores.detach()
        return mean(scores if self.objective.critic else sigmoid(scores))

    def _fetch(self, numbers, loss_name):
        """The logged scalar tensors as Python floats, fetched in one transfer: on a GPU each
        transfer waits for the device to finish, so one per update instead of one per number.
        Raises `NonFiniteLossError` if the loss is NaN or infinite, before anyone steps on it."""
        xp = backend.get_array_module(numbers[loss_name].data)
        with backend.device_context(self.device):
            values = backend.to_numpy(xp.stack([xp.reshape(t.data, ()) for t in numbers.values()]))
        log = {name: float(value) for name, value in zip(numbers, values)}
        if not math.isfinite(log[loss_name]):
            raise NonFiniteLossError(self.step, loss_name, log[loss_name])
        return log

    # ------------------------------------------------------------------------ the losses
    # The two players' losses, as methods: the remedies of unrolled.py, mode_seeking.py,
    # infogan.py, energy.py and diffusion.py are trainers that override them.
    def discriminator_loss(self, real_out, fake_out):
        """L_D from D's outputs on the (noised) real and fake batches."""
        if self.real_label != 1.0:
            return minimax_d_loss(real_out, fake_out, real_label=self.real_label)
        return self.objective.d_loss(real_out, fake_out)

    def generator_loss(self, fake_in, real, labels=None):
        """L_G for a (noised) fake batch that keeps its graph back to G; D is frozen."""
        fake_out = self._call(self.D, fake_in, labels)
        real_out = None
        if self.objective.g_needs_real:
            real_out = self._call(self.D, self._with_noise(real), labels)
        return self.objective.g_loss(fake_out, real_out)

    # ------------------------------------------------------------------------ the updates
    def d_step(self, real, fake, labels=None):
        """One D update on a real batch and a generated batch (detached here: no gradient
        reaches G). Returns the logged numbers."""
        self.d_optimizer.zero_grad()
        real_in, fake_in = self._with_noise(real), self._with_noise(fake.detach())
        real_out = self._call(self.D, real_in, labels)
        fake_out = self._call(self.D, fake_in, labels)
        loss = self.discriminator_loss(real_out, fake_out)
        numbers = {"D(x)": self._mean_output(real_out), "D(G(z))": self._mean_output(fake_out)}
        if self.gp_weight:
            gp = gradient_penalty(lambda x: self._call(self.D, x, labels), real_in, fake_in,
                                  self.gp_weight, generator=self.rng)
            numbers["gradient_penalty"] = gp
            loss = loss + gp
        r1_gamma = lazy_r1_gamma(self.step, self.r1_gamma, self.r1_interval)
        if r1_gamma:
            r1 = r1_penalty(lambda x: self._call(self.D, x, labels), real_in, r1_gamma)
            numbers["r1_penalty"] = r1
            loss = loss + r1
        if self.historical:
            loss = loss + self.historical["D"].penalty()
        numbers["loss_D"] = loss
        log = self._fetch(numbers, "loss_D")
        if self.d_skip_below is not None:  # adaptive D skipping (tricks.skip_d_update)
            log["d_skipped"] = float(skip_d_update(log["loss_D"], self.d_skip_below))
            if log["d_skipped"]:
                return log
        loss.backward()
        self.d_optimizer.step()
        if self.clip_value:
            clip_weights(self.D, self.clip_value)
        if self.historical:
            self.historical["D"].update()
        return log

    def g_step(self, fake, real=None, labels=None):
        """One G update on a generated batch that still has its graph back to G. D is
        frozen: its parameters get no gradient and its optimizer does not step."""
        self.g_optimizer.zero_grad()
        with _frozen(self.D):
            fake_in = self._with_noise(fake)
            if self.feature_matching:
                loss = feature_matching_loss(self._features(self._with_noise(real), labels),
                                             self._features(fake_in, labels))
            else:
                loss = self.generator_loss(fake_in, real, labels)
            if self.historical:
                loss = loss + self.historical["G"].penalty()
            value = self._fetch({"loss_G": loss}, "loss_G")["loss_G"]
            loss.backward()
        self.g_optimizer.step()
        if self.historical:
            self.historical["G"].update()
        if self.ema is not None:
            self.ema.update(self.G)
        return {"loss_G": value}

    def train_step(self, next_batch):
        """n_critic D updates then one G update; ``next_batch()`` returns a real batch."""
        for i in range(self.n_critic):
            real, labels = self._as_batch(next_batch())
            z = self.noise(real.shape[0])
            last = i == self.n_critic - 1
            if last:  # this fake batch is reused by the G step, so it keeps its graph
                fake = self._call(self.G, z, labels)
            else:
                with no_grad():
                    fake = self._call(self.G, z, labels)
            log = self.d_step(real, fake, labels)
        log.update(self.g_step(fake, real, labels))
        return self._end_step(log)

    def _end_step(self, log):
        """Count the step, move the lr schedulers to the next one, and record its log (the
        last lines of every trainer's `train_step`)."""
        self.step += 1
        for scheduler in self.lr_schedulers:
            scheduler.step()
        log["step"] = self.step
        self.history.append(log)
        return log

    def fit(self, batches, steps, callbacks=()):
        """Train for ``steps`` more steps. ``batches`` is an endless iterator of real batches,
        or a re-iterable one (a data loader), iterated again when it runs out (an epoch).
        Each callback is called as ``callback(trainer, log)`` after every step (sampling,
        checkpoints, printing)."""
        if batches is not self._batches:
            self._batches, self._iterator = batches, iter(batches)

        def next_batch():
            try:
                return next(self._iterator)
            except StopIteration:  # a new epoch
                self._iterator = iter(self._batches)
                return next(self._iterator)

        for _ in range(steps):
            log = self.train_step(next_batch)
            for callback in callbacks:
                callback(self, log)
        return self.history

    # ---------------------------------------------------------------------------- sampling
    def sample(self, noise=None, labels=None, use_ema=True):
        """Samples from G (or its EMA copy) in eval mode, without a graph; the fixed noise
        (and class cycle) by default, so successive calls show progress on the same z."""
        noise = self.fixed_noise if noise is None else noise
        if labels is None and self.num_classes:
            labels = self.fixed_labels[:noise.shape[0]]
        net = self.ema.module if (use_ema and self.ema is not None) else self.G
        was_training = net.training
        net.eval()
        with no_grad():
            out = self._call(net, noise, labels)
        net.train(was_training)
        return out

    # ------------------------------------------------------------------------ checkpoints
    def networks(self):
        """The trained networks by name (the training loop checks them before saving)."""
        return {"generator": self.G, "discriminator": self.D}

    def state_dict(self):
        """Everything needed to resume exactly: for ``minigan.save(trainer.state_dict(), path)``."""
        return {
            "step": self.step,
            "generator": self.G.state_dict(),
            "discriminator": self.D.state_dict(),
            "g_optimizer": self.g_optimizer.state_dict(),
            "d_optimizer": self.d_optimizer.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "historical": {k: h.state_dict() for k, h in self.historical.items()}
            if self.historical else None,
            "rng": self.rng.get_state(),
            "fixed_noise": self.fixed_noise,
            "lr_schedulers": self._lr_schedulers_state(),
            "history": self.history,
        }

    def load_state_dict(self, state):
        self.step = int(state["step"])
        self.G.load_state_dict(state["generator"])
        self.D.load_state_dict(state["discriminator"])
        self.g_optimizer.load_state_dict(state["g_optimizer"])
        self.d_optimizer.load_state_dict(state["d_optimizer"])
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])
        if self.historical:
            for key, h in self.historical.items():
                h.load_state_dict(state["historical"][key])
        self.rng.set_state(state["rng"])
        noise = state["fixed_noise"]
        noise = noise.data if isinstance(noise, Tensor) else noise
        self.fixed_noise = Tensor(backend.to_device(noise, self.device, self.dtype))
        self._load_lr_schedulers(state)
        self.history = [dict(row) for row in state["history"]]

    def _lr_schedulers_state(self):
        return [scheduler.state_dict() for scheduler in self.lr_schedulers]

    def _load_lr_schedulers(self, state):
        """Restore the schedulers, after the optimizers (whose groups keep initial_lr)."""
        saved = state.get("lr_schedulers") or []  # checkpoints older than the schedulers: none
        if len(saved) != len(self.lr_schedulers):
            raise ValueError(f"the checkpoint holds {len(saved)} lr schedulers, this trainer "
                             f"has {len(self.lr_schedulers)}: build the same schedulers as the "
                             f"saved run")
        for scheduler, scheduler_state in zip(self.lr_schedulers, saved):
            scheduler.load_state_dict(scheduler_state)
            # The lr of the coming step from the schedule as built now: the same as the saved
            # one (minigan's schedulers are closed forms of the epoch), unless the run was
            # resumed with other settings, e.g. a longer --steps that stretches a decay.
            scheduler._set_lrs(scheduler.get_lr())
