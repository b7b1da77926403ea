"""Run worker processes (parent side): one per module, restarted after a function hangs or kills it.

The functions of one module share a worker, because starting TensorFlow costs seconds. Each function gets its
own time limit from the moment the worker says it starts it; a worker that overruns is killed with its whole
process group and a fresh one carries on with the next function. A worker that dies is reported for the
function it was running. The worker's stdout and stderr go to a file that is thrown away: nothing the user's
code prints reaches the terminal, and stdin is /dev/null.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

from .targets import Target

STARTUP_LIMIT = 120.0  # importing the framework (TensorFlow takes seconds; more on a busy machine)
MODULE_LIMIT = 60.0  # importing the user's module, at least
GiB = 1024**3


def default_memory_limit() -> int:
    """Address-space limit for a worker: half the machine's memory, at least 4 GiB (TensorFlow maps ~1.5 GiB)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return 8 * GiB
    return max(4 * GiB, total // 2)


_JAX_CACHE: list[str] = []


def worker_env(framework: str) -> dict[str, str] | None:
    """The environment of a worker (None: this process's). JAX compiles every primitive again for each new shape
    and dtype when run op by op, as the probes need: the JAX workers of one process share a compilation cache
    (a temporary folder, removed at exit), so that the `--fixed` run and other modules reuse what one compiled.
    A cache the user configured (JAX_COMPILATION_CACHE_DIR) is left as it is."""
    if framework != "jax" or "JAX_COMPILATION_CACHE_DIR" in os.environ:
        return None
    if not _JAX_CACHE:
        folder = tempfile.mkdtemp(prefix="lint-eps-jax-")
        atexit.register(shutil.rmtree, folder, True)
        _JAX_CACHE.append(folder)
    return {
        **os.environ,
        "JAX_COMPILATION_CACHE_DIR": _JAX_CACHE[0],
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
    }


@dataclass
class Batch:
    module_file: str  # the file to import: the user's, or its fixed copy
    module_name: str
    sys_path: list[str]
    framework: str
    targets: list[Target] = field(default_factory=list)


class _Timeout(Exception):
    pass


class _Lines:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = b""
        self.eof = False

    def next(self, deadline: float) -> dict[str, Any] | None:
        while b"\n" not in self.buffer:
            if self.eof:
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Timeout
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if not ready:
                raise _Timeout
            chunk = os.read(self.fd, 65536)
            if not chunk:
                self.eof = True
                continue
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        try:
            return json.loads(line)
        except ValueError:
            return {"event": "garbage"}


def _death(returncode: int) -> str:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"the worker process was killed by {name}"
    return f"the worker process exited with status {returncode}"


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            process.kill()
    process.wait()


def run_batch(batch: Batch, *, timeout: float, memory_limit: int) -> list[dict[str, Any]]:
    results: list[dict[str, Any] | None] = [None] * len(batch.targets)
    start = 0
    while start < len(batch.targets):
        start = _run_worker(batch, start, results, timeout, memory_limit)
    return [r if r is not None else {"status": "error", "message": "not verified", "counterexample": None} for r in results]


def _fill(results: list[dict[str, Any] | None], start: int, status: str, message: str) -> int:
    for index in range(start, len(results)):
        if results[index] is None:
            results[index] = {"status": status, "message": message, "counterexample": None}
    return len(results)


def _run_worker(batch: Batch, start: int, results: list[dict[str, Any] | None], timeout: float, memory_limit: int) -> int:
    job = {
        "module_file": batch.module_file,
        "module_name": batch.module_name,
        "sys_path": batch.sys_path,
        "framework": batch.framework,
        "memory_limit": memory_limit,
        "timeout": timeout,
        "targets": [t.job() for t in batch.targets[start:]],
    }
    with tempfile.TemporaryDirectory(prefix="lint-eps-verify-") as folder:
        job_path = os.path.join(folder, "job.json")
        with open(job_path, "w", encoding="utf-8") as handle:
            json.dump(job, handle)
        read_fd, write_fd = os.pipe()
        with open(os.path.join(folder, "output.txt"), "wb") as output:
            try:
                process = subprocess.Popen(
                    [sys.executable, "-m", "lint_eps.verifier.worker", job_path, str(write_fd)],
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    pass_fds=(write_fd,),
                    start_new_session=True,
                    env=worker_env(batch.framework),
                )
            except OSError as exc:
                os.close(read_fd)
                os.close(write_fd)
                return _fill(results, start, "error", f"cannot start a worker process: {exc}")
        os.close(write_fd)
        try:
            return _supervise(process, _Lines(read_fd), batch, start, results, timeout)
        finally:
            _kill(process)
            os.close(read_fd)


def _supervise(process: subprocess.Popen[bytes], lines: _Lines, batch: Batch, start: int, results: list[dict[str, Any] | None], timeout: float) -> int:
    phase = "framework"
    deadline = time.monotonic() + STARTUP_LIMIT
    current: int | None = None
    while True:
        try:
            message = lines.next(deadline)
        except _Timeout:
            if current is not None:
                results[current] = {"status": "timeout", "message": f"did not finish within {timeout:g} s", "counterexample": None}
                return current + 1
            if phase == "framework":
                return _fill(results, start, "error", f"the worker did not start within {STARTUP_LIMIT:g} s (importing {batch.framework})")
            if phase == "module":
                return _fill(results, start, "timeout", f"importing the module did not finish within {max(timeout, MODULE_LIMIT):g} s")
            return _fill(results, start, "error", "the worker stopped answering")
        if message is None:  # the worker is gone
            death = _death(process.wait())
            if current is not None:
                results[current] = {"status": "error", "message": f"{death} while running this function", "counterexample": None}
                return current + 1
            if phase == "framework":
                return _fill(results, start, "error", f"{death} while importing {batch.framework}")
            if phase == "module":
                return _fill(results, start, "error", f"{death} while importing the module")
            return _fill(results, start, "error", f"{death} between functions")
        event = message.get("event")
        now = time.monotonic()
        if event == "framework":
            phase, deadline = "module", now + max(timeout, MODULE_LIMIT)
        elif event == "module":
            if not message.get("ok"):
                return _fill(results, start, message.get("status", "error"), message.get("message", "cannot import the module"))
            phase, deadline = "targets", now + STARTUP_LIMIT
        elif event == "start":
            current, deadline = start + int(message["index"]), now + timeout
        elif event == "result":
            index = start + int(message["index"])
            results[index] = {"status": message["status"], "message": message["message"], "counterexample": message.get("counterexample"), "findings": message.get("findings")}
            current, deadline = None, now + STARTUP_LIMIT
        elif event == "done":
            return len(results)
