"""Where the checks run: in this process, in local worker processes (concurrent.futures), or on a
Dask cluster (distributed; ``--scheduler tcp://HOST:8786``, or a LocalCluster).  No distribution
layer of our own: each pool only adapts submit / wait-for-any / close.  Tasks are module-level
functions of one plain-data argument, and they return plain data.
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp


def _quiet_worker() -> None:
    # Ctrl-C goes to the whole process group; the coordinator decides what stops
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class InlinePool:
    """One worker: the coordinator's own process (Ctrl-C reaches the check directly)."""
    workers = 1
    kind = "inline"

    def submit(self, fn, arg):
        f = cf.Future()
        try:
            f.set_result(fn(arg))
        except KeyboardInterrupt:
            raise
        except Exception as e:  # a task's exception is the future's, as with the other pools
            f.set_exception(e)
        return f

    def wait_any(self, futures, timeout):
        return set(futures), set()

    def close(self, cancel: bool = False) -> None:
        pass


class LocalPool:
    """Worker processes on this machine (fork: the designs and scenarios need no pickling)."""
    kind = "processes"

    def __init__(self, workers: int):
        self.workers = workers
        self.ex = cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork"),
                                         initializer=_quiet_worker)

    def submit(self, fn, arg):
        return self.ex.submit(fn, arg)

    def wait_any(self, futures, timeout):
        done, rest = cf.wait(futures, timeout=timeout, return_when=cf.FIRST_COMPLETED)
        return set(done), set(rest)

    def close(self, cancel: bool = False) -> None:
        if cancel:
            for proc in list(getattr(self.ex, "_processes", {}).values()):
                proc.terminate()            # checks still running are dropped, not half-reported
        self.ex.shutdown(wait=True, cancel_futures=cancel)


class DaskPool:
    """A Dask distributed client: on the scheduler at ``address``, or on a LocalCluster of
    ``workers`` single-threaded worker processes."""
    kind = "dask"

    def __init__(self, address: str | None = None, workers: int = 2):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise RuntimeError("Dask is not installed: pip install 'swaplab[cluster]'") from None
        self.cluster = None
        if address:
            self.client = Client(address, timeout="20s")
        else:
            import dask
            # fork, not spawn: a spawned worker imports everything again (5× slower to start
            # here), and the tasks need nothing a fork could share wrongly
            dask.config.set({"distributed.worker.multiprocessing-method": "fork"})
            self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                        dashboard_address=None)
            self.client = Client(self.cluster)
        info = self.client.scheduler_info()
        self.workers = max(1, sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()))

    def submit(self, fn, arg):
        return self.client.submit(fn, arg, pure=False)

    def wait_any(self, futures, timeout):
        from distributed import wait
        try:
            done, rest = wait(list(futures), timeout=timeout, return_when="FIRST_COMPLETED")
        except TimeoutError:
            return set(), set(futures)
        return set(done), set(rest)

    def close(self, cancel: bool = False) -> None:
        self.client.close()          # the coordinator has cancelled its futures already
        if self.cluster is not None:
            self.cluster.close()


def make_pool(workers: int = 1, scheduler: str | None = None, dask: bool = False):
    if scheduler or dask:
        return DaskPool(scheduler, workers)
    if workers <= 1:
        return InlinePool()
    return LocalPool(workers)
