"""Keep NumPy's BLAS on one thread, so that minigan's own threads have the cores.

minigan shares each convolution between the cores itself (`parallel.py`). OpenBLAS, which
NumPy uses for matrix products, starts threads of its own, and between products they *spin*,
waiting for work: on the same cores as minigan's threads, or as any other busy process,
they slow everything down. Measured on a 2-core machine busy with another 2-thread job:
300 grid steps of ``examples/toy_2d.py`` took 14-67 s with OpenBLAS's two threads and 7-8 s
with one (docs/11_making_it_fast.md, "Measured"). So ``import minigan`` limits the BLAS
libraries loaded in the process to one thread, at run time, with ``threadpoolctl`` (the
library scikit-learn uses for the same job), and `parallel.matmul_on_threads` then splits
large products between minigan's threads.

Your choice wins: if ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS`` or ``OMP_NUM_THREADS`` is
set, or ``MINIGAN_BLAS_THREADS=keep``, BLAS is left alone (and minigan splits products only
if that choice is one thread). PyTorch's libraries, when loaded, are never touched.
See ``docs/11_making_it_fast.md``.
"""
import os

_USER_VARIABLES = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")
_state = {"single_threaded": False}


def _users_choice():
    """The thread count set in the environment, or None if nobody chose."""
    for name in _USER_VARIABLES:
        if os.environ.get(name):
            return os.environ[name]
    return None


def take_over():
    """Limit BLAS to one thread unless the user chose otherwise; True if BLAS now runs on
    one thread (so minigan should split the products itself)."""
    choice = _users_choice()
    if choice is not None or os.environ.get("MINIGAN_BLAS_THREADS") == "keep":
        _state["single_threaded"] = choice == "1"
        return _state["single_threaded"]
    from threadpoolctl import ThreadpoolController
    blas_libraries = [lib for lib in ThreadpoolController().select(user_api="blas").lib_controllers
                      if "torch" not in lib.filepath]
    for lib in blas_libraries:
        lib.set_num_threads(1)
    _state["single_threaded"] = True
    return True


def single_threaded():
    """True when BLAS runs each product on one core."""
    return _state["single_threaded"]
