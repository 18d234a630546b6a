"""EPyMARL's env workers: they exit with their parent, and a dead one stops the run at once.

`ParallelRunner` forks one `env_worker` per env (runners/parallel_runner.py). Two things go wrong
there, and this module, used by `lolm_parallel`, handles both without copying EPyMARL's code:

- A parent killed with SIGKILL leaves its workers running for ever: each blocks in `recv()` on a
  pipe whose other end every sibling still holds open. On Linux each forked worker asks the kernel
  for SIGTERM when its parent dies (`prctl(PR_SET_PDEATHSIG)`); elsewhere a daemon thread in the
  worker polls its parent's pid. Both are set up by `multiprocessing`'s after-fork hook, so they run
  in the child before EPyMARL's `env_worker`.
- A worker that dies (its env could not be built, or crashed later) never answers, and the parent
  waits in `recv()` for ever. A watchdog thread in the parent notices the dead process and sends,
  through the worker's end of its pipe (the parent holds a copy), a `DeadWorker` message. The
  parent's `recv()` returns it, and the first use of it raises `EnvWorkerError` naming the worker and
  its exit code; the worker's own traceback is already on stderr.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from multiprocessing import util
from typing import Any

PR_SET_PDEATHSIG = 1  # linux/prctl.h
POLL_S = 0.2


class EnvWorkerError(RuntimeError):
    """An env worker process died: the run cannot go on."""


class DeadWorker:
    """Stands in for the message a dead worker never sends; any use raises `EnvWorkerError`."""

    def __init__(self, index: int, exitcode: int | None):
        self.index, self.exitcode = index, exitcode

    def message(self) -> str:
        how = (
            f"was killed by signal {-self.exitcode}"
            if self.exitcode is not None and self.exitcode < 0
            else f"exited with code {self.exitcode}"
        )
        return (
            f"env worker {self.index} {how}; its traceback, if any, is printed above. The run stops here "
            "(check env_args, or run with runner=lolm_episode to see the env's error in this process)"
        )

    def _fail(self, *args: Any, **kwargs: Any):
        raise EnvWorkerError(self.message())

    __getitem__ = __iter__ = __len__ = __contains__ = keys = items = values = get = _fail


# --- in the worker --------------------------------------------------------------------------------
def _exit_with_parent(parent_pid: int) -> None:
    """Called in each forked child: ask to be ended when the parent process goes."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) == 0:
                if os.getppid() != parent_pid:  # the parent died before prctl took effect
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="epymarl-llm-parent-watch", daemon=True).start()


class _ForkHook:
    """Registered with multiprocessing's after-fork hooks while a runner lives (weakly held)."""

    def __init__(self) -> None:
        self.parent_pid = os.getpid()


def exit_children_with_parent() -> _ForkHook:
    """Make every process forked from now on exit when this one dies; keep the returned object alive."""
    hook = _ForkHook()
    util.register_after_fork(hook, lambda h: _exit_with_parent(h.parent_pid))
    return hook


# --- in the parent --------------------------------------------------------------------------------
class WorkerWatch:
    """Watches `runner.ps` (EPyMARL's worker processes) from a daemon thread."""

    def __init__(self, runner: Any):
        self._runner = runner
        self._stopped = threading.Event()
        self.dead: list[DeadWorker] = []
        self._thread = threading.Thread(target=self._loop, name="epymarl-llm-worker-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Called before the runner closes its envs (workers then exit on purpose)."""
        self._stopped.set()

    def _loop(self) -> None:
        reported: set[int] = set()
        while not self._stopped.wait(POLL_S):
            processes = getattr(self._runner, "ps", None) or []
            conns = getattr(self._runner, "worker_conns", None) or []
            for i, process in enumerate(processes):
                if i in reported or process.exitcode is None or self._stopped.is_set():
                    continue
                reported.add(i)
                dead = DeadWorker(i, process.exitcode)
                self.dead.append(dead)
                try:
                    conns[i].send(dead)  # wakes the parent's recv() on this worker's pipe
                except (OSError, IndexError):
                    pass
