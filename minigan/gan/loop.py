"""The training loop every example shares: train, show progress, save, never lose work.

    summary = run_training(trainer, batches, steps, out, config, resume=False)

``trainer`` is anything with ``step``, ``train_step(next_batch) -> dict of numbers``,
``sample()`` (a batch of images in [-1, 1] for the progress grid), ``history`` (the logged
dicts), ``state_dict()`` / ``load_state_dict()`` and ``networks()`` ({name: Module});
`GANTrainer` and its subclasses have them all. ``batches`` is a re-iterable data loader that
remembers its place (``state_dict()``, ``load_state_dict()``, ``epoch``), like `ImageBatches`.

The folder ``out`` receives ``samples/step_NNNNNN.png`` (the progress grid every
``sample_every`` steps), ``checkpoint.npz`` (written atomically every ``checkpoint_every``
steps and at the end), ``config.json``, ``metrics.csv``, ``losses.png``, ``progress.gif`` and
``final.png``. Three promises (docs/09_training_cats.md):

- Ctrl-C finishes the current step, saves a checkpoint and stops; ``resume=True`` then
  continues bit for bit as if never stopped (the trainer, the batches and both random
  generators are in the checkpoint).
- A NaN or infinite loss (`NonFiniteLossError`, raised by the trainer) or weight stops the
  run with a message and leaves the last good checkpoint in place.
- A checkpoint is never half-written: `minigan.save` writes a temporary file and renames it.

The examples' command lines meet the loop in `resolve_run_config`: typed flags, then (with
--resume) the settings saved in OUT/checkpoint.npz, then the defaults.
"""
import contextlib
import csv
import json
import os
import signal
import time
import zipfile

from tqdm import tqdm

from .. import backend, random as device_random
from ..creation import default_generator
from ..serialization import load, save
from ..utils import save_gif, save_image
from ..utils.io import atomic_open
from .trainer import NonFiniteLossError

CHECKPOINT = "checkpoint.npz"
EXIT_CODES = {"finished": 0, "interrupted": 130, "diverged": 1}  # for sys.exit in examples
# What --resume may change in any run: how long it goes on, how often it reports, where.
RESUMABLE = {"steps", "sample_every", "checkpoint_every", "device", "out"}


def save_checkpoint(path, trainer, batches, config):
    """Everything a resumed run needs, after checking that no weight went non-finite."""
    for name, net in trainer.networks().items():
        for p in net.parameters():  # one reduction per tensor, only when checkpointing
            with backend.device_context(p.device):
                finite = bool(backend.get_array_module(p.data).isfinite(p.data).all())
            if not finite:
                raise NonFiniteLossError(trainer.step, f"a {name} weight", "not finite")
    save({"trainer": trainer.state_dict(), "batches": batches.state_dict(),
          "minigan_rng": default_generator().bit_generator.state,
          "device_rng": device_random.get_rng_state(), "config": config}, path)


def load_checkpoint(path, trainer, batches):
    state = load(path)
    trainer.load_state_dict(state["trainer"])
    batches.load_state_dict(state["batches"])
    default_generator().bit_generator.state = state["minigan_rng"]
    device_random.set_rng_state(state["device_rng"])
    return state


def resolve_run_config(args, prog, common_defaults, cpu_defaults=None, gpu_defaults=None,
                       resumable=(), all_of_data=True):
    """The settings of an example's run from its parsed flags ``args``, whose argparse
    defaults are None so that a typed flag can be told from an untyped one.

    Typed flags come first. Then, with ``args.resume``, the settings saved in OUT/checkpoint.npz;
    a typed flag that differs from them is refused unless `RESUMABLE` or the example's own
    ``resumable`` allows it, since it would change the run being continued. Else (a new run)
    the device's defaults (``gpu_defaults`` on cuda, ``cpu_defaults`` otherwise) over
    ``common_defaults``, which names the default "out". A typed --steps or --epochs replaces
    the run's length, whichever of the two held it; a typed --data drops the default
    --num-images, so the folder is used whole (``all_of_data=False``: --num-images counts
    something else). Errors are one line, "PROG: error: ...", as argparse's are.
    """
    given = {k: v for k, v in vars(args).items() if v is not None and k != "resume"}
    try:
        device = backend.parse_device(given.get("device")
                                      or ("cuda" if backend.cuda_available() else "cpu"))
    except backend.DeviceError as error:  # unknown, or CUDA without CuPy or a GPU
        raise SystemExit(f"{prog}: error: --device: {error}")
    out = given.get("out", common_defaults["out"])
    dropped = {"steps", "epochs"} if given.keys() & {"steps", "epochs"} else set()
    saved = saved_run_config(out, prog) if args.resume else None
    if saved is not None:
        may_change = RESUMABLE | set(resumable)
        clashes = [f"--{k.replace('_', '-')} {v} (checkpoint: {saved.get(k)})"
                   for k, v in given.items() if k not in may_change and v != saved.get(k)]
        if clashes:
            raise SystemExit(f"{prog}: error: --resume continues the run in {out}, which used "
                             f"other settings: {', '.join(clashes)}. Drop these flags, or start "
                             f"a new run with another --out.")
        defaults = saved
    else:
        if given.get("data") and all_of_data:
            dropped.add("num_images")
        device_defaults = gpu_defaults if device.startswith("cuda") else cpu_defaults
        defaults = {**common_defaults, **(device_defaults or {})}
    config = {**{k: v for k, v in defaults.items() if k not in dropped}, **given}
    config.update(device=device, out=out)
    return config


def saved_run_config(out, prog):
    """The settings saved in OUT/checkpoint.npz, or None (with a note) when there is none."""
    path = os.path.join(out, CHECKPOINT)
    if not os.path.exists(path):
        print(f"--resume: no checkpoint in {out}, starting a new run")
        return None
    return read_checkpoint(path, prog, "--resume")["config"]


def read_checkpoint(path, prog, flag):
    """``minigan.load(path)`` for a command line: a failure is one line,
    "PROG: error: FLAG: ...", naming the file."""
    try:
        return load(path)
    except (OSError, ValueError) as error:  # missing, or not a minigan checkpoint
        raise SystemExit(f"{prog}: error: {flag}: {error}")
    except zipfile.BadZipFile as error:  # damaged on disk: its message lacks the path
        raise SystemExit(f"{prog}: error: {flag}: {path} is damaged ({error})")


@contextlib.contextmanager
def ctrl_c_finishes_the_step():
    """The first Ctrl-C only sets ``stop["requested"]``: the loop finishes its step, saves
    and stops, so a checkpoint never holds a half-done update. A second Ctrl-C stops at once."""
    stop = {"requested": False, "hard": False}

    def handler(signum, frame):
        if stop["requested"]:
            stop["hard"] = True
            raise KeyboardInterrupt
        stop["requested"] = True
        tqdm.write("Ctrl-C: finishing this step, then saving a checkpoint (again to quit now)")

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: signals cannot be caught here
        previous = None
    try:
        yield stop
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def run_training(trainer, batches, steps, out, config, resume=False, callback=None,
                 title="GAN", sample_every=None, checkpoint_every=None, images_per_step=None,
                 facts=None):
    """Train ``trainer`` up to ``steps`` steps in total, writing into ``out``; returns a
    summary dict (status "finished", "interrupted" or "diverged", step, message, ...).

    ``config`` (the run's settings) goes into config.json and every checkpoint; ``facts``
    (e.g. how many images were found) into config.json only. ``sample_every`` and
    ``checkpoint_every`` default to the config's (--sample-every, --checkpoint-every), else
    to about 20 grids and 10 checkpoints a run.
    ``callback(trainer, log)``, if given, runs after every step (tests use it to interrupt).
    """
    os.makedirs(os.path.join(out, "samples"), exist_ok=True)
    checkpoint = os.path.join(out, CHECKPOINT)
    if resume and os.path.exists(checkpoint):
        load_checkpoint(checkpoint, trainer, batches)
        print(f"resumed from {checkpoint} at step {trainer.step}")
        if trainer.step >= steps:
            print(f"the run is already at step {trainer.step} of {steps}: pass a larger --steps "
                  f"or --epochs to train further")
    elif os.path.exists(checkpoint):
        print(f"note: starting a new run; {checkpoint} will be replaced (--resume continues it)")
    write_json(os.path.join(out, "config.json"), {**config, "total_steps": steps,
                                                    **(facts or {})})
    sample_every = sample_every or config.get("sample_every") or max(1, steps // 20)
    checkpoint_every = checkpoint_every or config.get("checkpoint_every") or max(1, steps // 10)

    stream = _forever(batches)
    saved = {"step": trainer.step if os.path.exists(checkpoint) and resume else None}

    def save_now():
        save_checkpoint(checkpoint, trainer, batches, config)
        saved["step"] = trainer.step

    status, message, in_step = "finished", None, False
    bar = tqdm(total=steps, initial=trainer.step, unit="step", dynamic_ncols=True)
    speed = _Speed(images_per_step, trainer.step)
    with ctrl_c_finishes_the_step() as stop:
        try:
            while trainer.step < steps:
                in_step = True
                log = trainer.train_step(lambda: next(stream))
                in_step = False
                step = trainer.step
                bar.update(1)
                bar.set_postfix({**_shown(log), "img/s": speed(step),
                                 "epoch": getattr(batches, "epoch", "-")}, refresh=False)
                if step % sample_every == 0 or step == steps:
                    save_image(trainer.sample(), os.path.join(out, "samples",
                                                              f"step_{step:06d}.png"))
                if step % checkpoint_every == 0 or step == steps:
                    save_now()
                    write_reports(out, trainer, title)
                if callback is not None:
                    callback(trainer, log)
                if stop["requested"]:
                    raise KeyboardInterrupt
        except KeyboardInterrupt:
            status = "interrupted"
            if in_step or stop["hard"]:  # cut off mid-update: the model is half a step on
                message = f"interrupted mid-step; {_kept(checkpoint, saved['step'])}"
            else:
                save_now()
                message = (f"interrupted: saved {checkpoint} at step {trainer.step}; "
                           f"continue with --resume")
        except NonFiniteLossError as error:
            status = "diverged"
            message = f"stopped: {error} Nothing was saved after this; " \
                      f"{_kept(checkpoint, saved['step'])}."
        finally:
            bar.close()
    write_reports(out, trainer, title)
    summary = {"status": status, "step": trainer.step, "total_steps": steps, "out": out,
               "checkpoint": checkpoint, "message": message}
    if status == "finished":
        summary["final_grid"] = os.path.join(out, "final.png")
        save_image(trainer.sample(), summary["final_grid"])
        summary["message"] = f"done: see {summary['final_grid']}, losses.png and progress.gif " \
                             f"in {out}"
    return summary


def write_reports(out, trainer, title="GAN"):
    """metrics.csv, losses.png and progress.gif, from the trainer's history and the grids
    saved so far (both survive a resume: history is in the checkpoint, grids are files)."""
    if not trainer.history:
        return
    columns = list(dict.fromkeys(["step"] + [k for row in trainer.history for k in row]))
    with atomic_open(os.path.join(out, "metrics.csv"), "w") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(trainer.history)
    from ..utils.plots import plot_losses  # matplotlib loads slowly: only when plotting
    plot_losses(trainer.history, os.path.join(out, "losses.png"),
                smoothing=0.9 if len(trainer.history) > 50 else 0.0,
                title=f"{title} losses, {trainer.step} steps")
    frames = sorted(f for f in os.listdir(os.path.join(out, "samples"))
                    if f.startswith("step_") and int(f[5:11]) <= trainer.step)
    if frames:
        from PIL import Image
        pictures = [backend.np.asarray(Image.open(os.path.join(out, "samples", f)).convert("RGB"))
                    for f in frames]
        save_gif(pictures, os.path.join(out, "progress.gif"), duration_ms=250)


def write_json(path, obj):
    with atomic_open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def _shown(log):
    """The first four numbers of a step's log, for the progress bar."""
    numbers = [(k, v) for k, v in log.items() if k != "step" and isinstance(v, (int, float))]
    return {k: f"{v:.3f}" for k, v in numbers[:4]}


def _kept(checkpoint, step):
    if step is None:
        return "no checkpoint was written"
    return f"the last good checkpoint, {checkpoint} from step {step}, is kept"


def _forever(batches):
    """Batches without end; each pass is an epoch, and `batches` remembers where it is."""
    while True:
        yield from batches


class _Speed:
    """Images per second over the last few seconds (the bar's own rate counts steps)."""

    def __init__(self, images_per_step, step):
        self.images_per_step, self.mark = images_per_step, (time.perf_counter(), step)
        self.value = "-"

    def __call__(self, step):
        now = time.perf_counter()
        seconds = now - self.mark[0]
        if self.images_per_step and seconds >= 2.0:
            self.value = f"{(step - self.mark[1]) * self.images_per_step / seconds:.0f}"
            self.mark = (now, step)
        return self.value
