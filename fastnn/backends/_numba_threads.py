"""The numba backend's threads (no compiled code here): ``run_chunks`` splits a kernel's
outputs into fixed chunks, one per thread."""

import os
import queue
import threading

from . import thread_count

PARALLEL_MIN_WORK = 200_000  # multiply-adds of a call from which threads pay off


class _Workers:
    """Threads that run kernel chunks handed to them through one queue: lighter than a
    ThreadPoolExecutor (no futures; measured 46 vs 60 µs a dispatch, mostly the wake-up)."""

    def __init__(self, count):
        self.pid = os.getpid()
        self.count = count
        self.tasks = queue.SimpleQueue()
        for index in range(count):
            threading.Thread(target=self._serve, name=f"fastnn-{index}", daemon=True).start()

    def _serve(self):
        while True:
            kernel, args, slot, results, done = self.tasks.get()
            try:
                results[slot] = kernel(*args)
            except BaseException as error:  # re-raised in the thread that waits for it
                results[slot] = error
            finally:
                done.release()

    def submit(self, kernel, args, slot, results):
        """Queue kernel(*args) into results[slot]; returns a lock released when it has run."""
        done = threading.Lock()
        done.acquire()
        self.tasks.put((kernel, args, slot, results, done))
        return done


_workers: list = []


def run_chunks(kernel, args, n, work, align=1) -> list:
    """kernel(*args, lo, hi) over [0, n): one chunk per thread when ``work`` is large; returns
    the chunks' results. Chunk bounds are multiples of ``align`` (the kernel's tile or block),
    so every element is computed by the same tile whatever the number of threads: results do not
    depend on it."""
    threads = min(thread_count(), n) if work >= PARALLEL_MIN_WORK else 1
    if threads <= 1:
        return [kernel(*args, 0, n)]
    if not _workers or _workers[0].pid != os.getpid() or _workers[0].count < threads - 1:
        _workers[:] = [_Workers(threads - 1)]  # (a forked child needs its own threads)
    bounds = [min(n, (n * c // threads + align - 1) // align * align) for c in range(threads)]
    bounds.append(n)
    chunks = [(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:]) if lo < hi]
    results: list = [None] * len(chunks)
    waits = [_workers[0].submit(kernel, (*args, lo, hi), slot, results)
             for slot, (lo, hi) in enumerate(chunks[:-1])]
    try:
        # The calling thread takes the last chunk: what it read last, before (the end of the
        # arrays), is still in its cache; the first chunk measured 9-13 % slower on a worker.
        results[-1] = kernel(*args, *chunks[-1])
    finally:
        for done in waits:
            done.acquire()
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results
