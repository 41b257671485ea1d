"""The one timer the benchmark scripts share."""
import time


def clock(step, pause=0.0):
    """Seconds one call of ``step()`` takes, after ``pause`` idle seconds.

    Idle first: OpenBLAS worker threads spin for ~0.1 s after a matrix product, and PyTorch's
    OpenMP threads briefly too; on a few cores they would slow the other library's next run.
    """
    time.sleep(pause)
    start = time.perf_counter()
    step()
    return time.perf_counter() - start
