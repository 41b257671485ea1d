"""`VAETrainer`: the VAE of models/vae.py trained on the negative ELBO, with the interface of
`GANTrainer` (step, train_step, sample, history, state_dict), so the same loop, checkpoints
and resume serve it (gan/loop.py). One step: encode a batch, draw z = mu + sigma eps,
decode, and take one optimizer step on -ELBO = reconstruction NLL + KL. There is no
adversary: the decoder learns from the pixel error alone, which is why its samples are the
blurry average of what could be there (docs/15_vae_vs_gan.md).
"""
from .. import kernels
from ..autograd import Tensor, no_grad
from ..creation import randn
from ..random import Generator
from .. import backend
from .models.vae import negative_elbo
from .trainer import GANTrainer


class VAETrainer:
    """``vae``: a `VAE`; ``optimizer`` over its parameters; ``sigma``: the likelihood's
    standard deviation on the [-1, 1] pixel scale; ``num_samples``: size of the fixed noise
    batch `sample` decodes to show progress."""

    # The NaN check and one-transfer fetch of the logged numbers, and the step's bookkeeping,
    # as the GAN trainer does them.
    _fetch, _end_step = GANTrainer._fetch, GANTrainer._end_step
    lr_schedulers = ()

    def __init__(self, vae, optimizer, sigma=0.1, seed=0, num_samples=64):
        self.vae, self.optimizer, self.sigma = vae, optimizer, sigma
        kernels.memory.keep_freed_memory()  # the same arrays every step (see GANTrainer)
        first = next(vae.parameters())
        self.device, self.dtype = first.device, first.dtype
        self.rng = Generator(self.device).manual_seed(seed)
        self.nz = vae.nz
        self.fixed_noise = self.noise(num_samples)
        self.step = 0
        self.history = []

    def noise(self, n):
        return randn(n, self.nz, dtype=self.dtype, device=self.device, generator=self.rng)

    def train_step(self, next_batch):
        x = next_batch()
        if not isinstance(x, Tensor):
            x = Tensor(backend.to_device(x, self.device, self.dtype))
        self.optimizer.zero_grad()
        reconstruction, mu, logvar = self.vae(x, generator=self.rng)
        loss, nll, kl = negative_elbo(reconstruction, x, mu, logvar, self.sigma)
        log = self._fetch({"loss": loss, "reconstruction": nll, "kl": kl}, "loss")
        loss.backward()
        self.optimizer.step()
        return self._end_step(log)

    def _eval(self, net, x):
        was_training = net.training
        net.eval()
        with no_grad():
            out = net(x)
        net.train(was_training)
        return out

    def sample(self, noise=None):
        """Decoded z ~ N(0, I) (the fixed noise by default): the VAE as a generator."""
        return self._eval(self.vae.decoder, self.fixed_noise if noise is None else noise)

    def reconstruct(self, x):
        """decoder(mu(x)): the reconstruction at the posterior mean, without noise."""
        mu, _ = self._eval(self.vae.encoder, x)
        return self._eval(self.vae.decoder, mu)

    def networks(self):
        return {"encoder": self.vae.encoder, "decoder": self.vae.decoder}

    def state_dict(self):
        return {"step": self.step, "vae": self.vae.state_dict(),
                "optimizer": self.optimizer.state_dict(), "rng": self.rng.get_state(),
                "fixed_noise": self.fixed_noise, "history": self.history}

    def load_state_dict(self, state):
        self.step = int(state["step"])
        self.vae.load_state_dict(state["vae"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.rng.set_state(state["rng"])
        noise = state["fixed_noise"]
        noise = noise.data if isinstance(noise, Tensor) else noise
        self.fixed_noise = Tensor(backend.to_device(noise, self.device, self.dtype))
        self.history = [dict(row) for row in state["history"]]
