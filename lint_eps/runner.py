"""Lint many files: read, consult the cache, fan out to worker processes, fix and write when asked.

`lint_paths` is the Python API behind the CLI. Files are independent, so they are linted in a process pool and
results are streamed back in order; small runs stay in-process, where forking would cost more than it saves.
What "small" means is measured, not guessed from the number of files: most files cost nothing (a cache hit, or
clean by the prefilter without libcst), so the run starts in-process, smallest files first, and starts workers
only once the work left, estimated from what the files done so far cost per byte, would outlast their start.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Iterator

from .add_noqa import NOT_SUPPRESSIBLE, add_noqa
from .budget import OVER_BUDGET, over_size, within_time
from .cache import Cache, digest
from .collector import freeze_imports
from .config import discover_settings
from .diagnostic import Diagnostic, Location
from .discovery import DiscoveryError, discover
from .engine import SYNTAX_ERROR, lint_source
from .fixes import fix_source
from .project import project_for, summarise
from .registry import selected_codes
from .settings import Settings
from .source import DecodedSource, SourceError, decode_source, encode_source
from .writeback import WriteRefused, write_fixed

IO_ERROR = "EPS003"
# In-process work (CPU seconds) done before the run decides whether workers would pay, and the estimated work
# left (CPU seconds in one process) above which they do: starting workers costs each of them about 0.3 s
# (fork or spawn, and importing libcst and the rules where the parent has not), and two workers on the rest
# save at most half of it.
SAMPLE_SECONDS = 0.2
POOL_PAYS_SECONDS = 1.5


@dataclass
class FileResult:
    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    fixes_applied: int = 0
    diff: str | None = None
    fix_error: str | None = None
    from_cache: bool = False
    # Other modules of the project whose summaries the findings depend on (lint_eps/project.py): path ->
    # [content digest, summary digest]. The cache keeps the findings only while these still hold.
    deps: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class RunResult:
    files: list[FileResult]
    discovery_errors: list[DiscoveryError]

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return [d for f in self.files for d in f.diagnostics]


@dataclass(frozen=True)
class FixMode:
    fix: bool = False  # write fixed files
    diff: bool = False  # compute diffs, write nothing
    unsafe: bool = False
    add_noqa: bool = False  # write `# noqa: CODE` on every finding's row instead of fixing

    @property
    def active(self) -> bool:
        return self.fix or self.diff or self.add_noqa


def _error(path: str, code: str, message: str, row: int = 1, column: int = 1) -> Diagnostic:
    loc = Location(row, column)
    name = "invalid-syntax" if code == SYNTAX_ERROR else "io-error"
    return Diagnostic(code, message, path, loc, loc, None, row, name)


def _over_budget(path: str, diagnostic: Diagnostic, codes: frozenset[str]) -> FileResult:
    return FileResult(path, [diagnostic] if OVER_BUDGET in codes else [])


def lint_bytes(path: str, data: bytes, settings: Settings, mode: FixMode = FixMode(), *, prefilter: bool = True) -> FileResult:
    codes = selected_codes(settings, path)
    if path.endswith(".ipynb"):
        from .notebook_lint import lint_notebook  # a notebook: its code cells as one program (and its size)

        return lint_notebook(path, data, settings, mode, codes, prefilter)
    too_big = over_size(path, len(data), settings)
    if too_big is not None:
        return _over_budget(path, too_big, codes)
    try:
        decoded = decode_source(data)
    except SourceError as exc:
        if SYNTAX_ERROR not in codes:
            return FileResult(path)
        return FileResult(path, [_error(path, SYNTAX_ERROR, exc.message, exc.row, exc.column)])
    if not mode.active:
        found = within_time(path, settings, lambda: lint_source(decoded.text, path, settings, codes=codes, prefilter=prefilter))
        return _over_budget(path, found, codes) if isinstance(found, Diagnostic) else FileResult(path, found)
    if mode.add_noqa:
        return _add_noqa(path, decoded, settings, codes, prefilter)
    outcome = within_time(path, settings, lambda: fix_source(decoded.text, path, settings, unsafe=mode.unsafe, codes=codes))
    if isinstance(outcome, Diagnostic):
        return _over_budget(path, outcome, codes)  # stopped before anything was written
    result = FileResult(path, outcome.remaining, outcome.applied, fix_error=outcome.error)
    if outcome.changed(decoded.text):
        if mode.diff:
            import difflib

            result.diff = "".join(
                difflib.unified_diff(
                    decoded.text.splitlines(keepends=True),
                    outcome.text.splitlines(keepends=True),
                    fromfile=f"a/{path}",
                    tofile=f"b/{path}",
                )
            )
        else:
            try:
                write_fixed(path, encode_source(outcome.text, decoded.encoding))
            except WriteRefused as exc:
                return _unwritten(path, decoded.text, settings, codes, f"{exc}; fixes not applied")
    return result


def _add_noqa(path: str, decoded: DecodedSource, settings: Settings, codes: frozenset[str], prefilter: bool) -> FileResult:
    """Suppress the file's findings in place; what could not be suppressed stays a finding."""
    found = within_time(path, settings, lambda: lint_source(decoded.text, path, settings, codes=codes, prefilter=prefilter))
    if isinstance(found, Diagnostic):
        return _over_budget(path, found, codes)
    edit = add_noqa(decoded.text, found)
    if edit.text != decoded.text:
        try:
            write_fixed(path, encode_source(edit.text, decoded.encoding))
        except WriteRefused as exc:
            return _unwritten(path, decoded.text, settings, codes, f"{exc}; no noqa comments added")
    left = [d for d in found if (d.noqa_row or d.location.row) in edit.skipped or d.code in NOT_SUPPRESSIBLE]
    problem = None
    if edit.skipped:
        rows = ", ".join(str(r) for r in edit.skipped)
        problem = f"no `# noqa` added on line{'s' if len(edit.skipped) > 1 else ''} {rows}: the line ends inside a string or with a backslash"
    return FileResult(path, left, edit.added, fix_error=problem)


def _unwritten(path: str, text: str, settings: Settings, codes: frozenset[str], message: str) -> FileResult:
    """A file --fix may not write: its findings as they stand, and why (EPS003, or on stderr when not selected)."""
    remaining = lint_source(text, path, settings, codes=codes)
    if IO_ERROR in codes:
        return FileResult(path, [_error(path, IO_ERROR, message), *remaining])
    return FileResult(path, remaining, fix_error=message)


def _read(path: str) -> bytes | Diagnostic:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        return _error(path, IO_ERROR, f"cannot read file: {exc.strerror or exc}")


# -- worker process ----------------------------------------------------------------------------------------
_worker_state: tuple[Settings, FixMode, bool, bool] | None = None


def _init_worker(settings: Settings, mode: FixMode, prefilter: bool, keyed: bool) -> None:
    global _worker_state
    _worker_state = (settings, mode, prefilter, keyed)


def _work(path: str) -> tuple[FileResult, str | None]:
    assert _worker_state is not None
    return _lint_path(path, *_worker_state)


def _lint_path(path: str, settings: Settings, mode: FixMode, prefilter: bool, keyed: bool) -> tuple[FileResult, str | None]:
    """Read and lint one file (in a worker, which reads the file itself: the parent keeps no file contents), and
    (when `keyed`: the cache is on) the digest of what was read, so that the cache is keyed by the bytes actually
    linted."""
    too_big = _over_size(path, settings)
    if too_big is not None:
        return _over_budget(path, too_big, selected_codes(settings, path)), None  # never read whole
    data = _read(path)
    if isinstance(data, Diagnostic):
        return FileResult(path, [data] if IO_ERROR in selected_codes(settings, path) else []), None
    with project_for(settings.source_roots()).tracking() as used:
        result = lint_bytes(path, data, settings, mode, prefilter=prefilter)
    result.deps = dict(used)
    # An over-budget result is not cached: a time budget depends on the machine, and a size budget may change.
    return result, None if not keyed or any(d.code == OVER_BUDGET for d in result.diagnostics) else digest(data)


def _over_size(path: str, settings: Settings) -> Diagnostic | None:
    if path.endswith(".ipynb"):
        return None  # the budget is for the code, not the plots in the outputs: measured on the code cells
    try:
        size = os.path.getsize(path)
    except OSError:
        return None  # reported when the file is read
    return over_size(path, size, settings)


def _pool(jobs: int, settings: Settings, mode: FixMode, prefilter: bool, keyed: bool):  # type: ignore[no-untyped-def]
    """A process pool of `jobs` workers (imported here: a run that needs none does not pay for multiprocessing).
    Forked workers inherit what the parent imported, so libcst and the rules are imported once, before the fork.
    They are forked only from a parent with no other thread left: a file the time budget stopped may leave its
    lint thread running (`deepstack`), and a fork would copy whatever lock it holds, held, into every worker."""
    import multiprocessing
    import threading
    from concurrent.futures import ProcessPoolExecutor

    methods = multiprocessing.get_all_start_methods()
    fork = "fork" in methods and threading.active_count() == 1
    if fork:
        from .lazy import libcst
        from .registry import all_rules

        all_rules()
        _ = libcst.Module  # imports libcst (`lint_eps.lazy`) here, once, rather than in every worker
        freeze_imports()  # and the workers' collectors never walk it (nor copy its pages on write)
    return ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context("fork" if fork else "spawn"),
        initializer=_init_worker,
        initargs=(settings, mode, prefilter, keyed),
    )


def _pool_pays(done_seconds: float, done_bytes: int, left_bytes: int) -> bool:
    """Whether the files left are worth workers: their estimated cost in one process, at the cost per byte of the
    files done so far (most of which the cache or the prefilter answered without parsing, when that is so)."""
    estimate = done_seconds * left_bytes / max(done_bytes, 1)
    return estimate >= POOL_PAYS_SECONDS


def lint_files(
    files: list[str],
    settings: Settings,
    *,
    jobs: int | None = None,
    use_cache: bool = True,
    mode: FixMode = FixMode(),
    prefilter: bool = True,
) -> Iterator[FileResult]:
    jobs = jobs or os.cpu_count() or 1
    cache = Cache(settings.root, lambda: settings.fingerprint() + ("-nopf" if not prefilter else ""), enabled=use_cache and not mode.active)
    project = project_for(settings.source_roots())
    pending: list[tuple[int, str, int]] = []  # (index, path, size)
    results: dict[int, FileResult] = {}
    for index, path in enumerate(files):
        if not cache.enabled:
            try:
                size = os.path.getsize(path)
            except OSError:
                size = 0  # reported when the file is linted
            pending.append((index, path, size))
            continue
        data = _read(path) if _over_size(path, settings) is None else None
        if not isinstance(data, bytes):
            pending.append((index, path, 0))  # reported when the file is linted
            continue
        cached = cache.get(path, digest(data), valid=lambda deps: project.still_valid(deps, summarise))
        if cached is not None:
            results[index] = FileResult(path, [Diagnostic.from_dict({**d, "filename": path}) for d in cached], from_cache=True)
            continue
        pending.append((index, path, len(data)))

    # Largest files first (the pool's order): the workers finish together instead of one of them ending the run
    # alone on a big file. The run itself starts from the other end, with the smallest files, in-process.
    pending.sort(key=lambda entry: -entry[2])
    left_bytes = sum(size for _, _, size in pending)
    done_bytes, started = 0, time.process_time()
    while pending:
        if jobs > 1 and len(pending) > 1 and time.process_time() - started >= SAMPLE_SECONDS:
            if _pool_pays(time.process_time() - started, done_bytes, left_bytes):
                break
        index, path, size = pending.pop()
        freeze_imports()
        result, key = _lint_path(path, settings, mode, prefilter, cache.enabled)
        results[index] = result
        if key is not None:
            cache.put(path, key, [d.to_dict() for d in result.diagnostics], result.deps)
        done_bytes += size
        left_bytes -= size
    if pending:
        # One file per task, in order of size: each worker reads its own file, so the parent holds no contents.
        with _pool(min(jobs, len(pending)), settings, mode, prefilter, cache.enabled) as pool:
            computed = pool.map(_work, [path for _, path, _ in pending])
            for (index, path, _), (result, key) in zip(pending, computed):
                results[index] = result
                if key is not None:
                    cache.put(path, key, [d.to_dict() for d in result.diagnostics], result.deps)
    cache.save()
    for index in range(len(files)):
        yield results[index]


def lint_paths(
    paths: list[str] | None = None,
    settings: Settings | None = None,
    *,
    jobs: int | None = None,
    use_cache: bool = True,
    mode: FixMode = FixMode(),
    prefilter: bool = True,
) -> RunResult:
    """Lint files and folders as the CLI does (settings discovered from the first path when not given)."""
    paths = list(paths or ["."])
    if settings is None:
        settings = discover_settings(paths[0])
    files, errors = discover(paths, settings)
    results = list(lint_files(files, settings, jobs=jobs, use_cache=use_cache, mode=mode, prefilter=prefilter))
    return RunResult(results, errors)
