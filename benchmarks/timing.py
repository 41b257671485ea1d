"""The one timer the benchmark scripts share."""
import time


def clock(step, pause=0.0, lead_in=0, calls=1):
    """Seconds one call of ``step()`` takes, after ``pause`` idle seconds and ``lead_in``
    untimed calls (the mean of ``calls`` consecutive timed calls).

    Idle first: OpenBLAS worker threads spin for ~0.1 s after a matrix product, and PyTorch's
    OpenMP threads briefly too; on a few cores they would slow the other library's next run.

    Then lead-in calls, so the timed call finds the machine as it is in the middle of a
    training loop, where steps follow each other without rest. Straight after idling a step
    can be slower than that: the scheduler may run the threads of a process that was idle
    on one core until they have been busy for a while (on the development machine, most
    likely because its kernel is booted with ``sched_vcpu_pack``, the first minigan step
    after 0.3 s of rest took 105 ms instead of 87 ms).
    """
    time.sleep(pause)
    for _ in range(lead_in):
        step()
    start = time.perf_counter()
    for _ in range(calls):
        step()
    return (time.perf_counter() - start) / calls
