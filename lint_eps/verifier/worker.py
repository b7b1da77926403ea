"""The worker process: import the framework, then the user's module, then verify each target in turn.

Run as `python -m lint_eps.verifier.worker JOB.json FD`. Messages go to file descriptor FD as JSON lines, so
whatever the user's code prints (to stdout/stderr, which the parent captures) cannot be mistaken for a result:

    {"event": "framework"}                    the framework imported
    {"event": "module", "ok": true}           the user's module imported (or "status"/"message" when not)
    {"event": "start", "index": i}            verifying target i (the parent's time limit starts)
    {"event": "result", "index": i, "status": ..., "message": ..., "counterexample": ...}
    {"event": "done"}

The parent enforces time limits by killing the whole process group; the address-space limit is set here,
before anything large is imported.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
from typing import Any, TextIO

MISSING_FRAMEWORKS = {"torch": "PyTorch", "jax": "JAX", "jaxlib": "JAX", "flax": "JAX", "optax": "JAX", "tensorflow": "TensorFlow", "keras": "Keras"}


def _send(channel: TextIO, **message: Any) -> None:
    channel.write(json.dumps(message) + "\n")
    channel.flush()


def _limit_memory(limit: int) -> None:
    if limit <= 0:
        return
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):  # not on this platform: the time limit still applies
        pass


def _import_module(job: dict[str, Any]) -> Any:
    for folder in reversed(job["sys_path"]):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    name = job["module_name"]
    parent = name.rpartition(".")[0]
    if parent:
        importlib.import_module(parent)  # so that relative imports in the module resolve
    if job["module_file"].endswith(".ipynb"):
        from lint_eps.notebook import NotebookLoader

        spec = importlib.util.spec_from_loader(name, NotebookLoader(job["module_file"]), origin=job["module_file"])
    else:
        spec = importlib.util.spec_from_file_location(name, job["module_file"])
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {job['module_file']}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _missing_framework(exc: BaseException) -> str | None:
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        root = exc.name.split(".")[0]
        if root in MISSING_FRAMEWORKS:
            return f"{MISSING_FRAMEWORKS[root]} adapter: `{root}` is not installed, so the module cannot be imported"
    return None


def _watch(adapter: Any, module: Any, module_file: str, target: dict[str, Any]) -> Any:
    """The definition compiled again with probes for its findings (probes.Instrumented), or why it cannot be."""
    from lint_eps.source import decode_source

    from . import checks, probes

    try:
        if module_file.endswith(".ipynb"):
            from lint_eps.notebook import read_program

            text = read_program(module_file)
        else:
            with open(module_file, "rb") as handle:
                text = decode_source(handle.read()).text
        return probes.instrument(module, module_file, text, target["attr"], target["findings"], adapter.numeric)
    except Exception as exc:  # noqa: BLE001 - reported with the findings, never raised
        return checks.describe(exc)


def _per_finding(outcome: dict[str, Any], target: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
    """Give every finding the function's outcome when no finding could be checked on its own."""
    if target.get("findings") and "findings" not in outcome:
        if reason is None or outcome["status"] in ("error", "skipped", "timeout"):
            each = {k: outcome[k] for k in ("status", "message", "counterexample")}
        else:
            each = {"status": "skipped", "message": f"the flagged expression cannot be watched ({reason}); the function: {outcome['status']}: {outcome['message']}", "counterexample": None}
        outcome = {**outcome, "findings": [each for _ in target["findings"]]}
    return outcome


def verify_target(adapter: Any, module: Any, target: dict[str, Any], module_file: str = "", given: dict[str, Any] | None = None) -> dict[str, Any]:
    from . import checks, gradients

    if target["kind"] == "setting":
        from lint_eps.source import decode_source

        from . import setting

        with open(module_file, "rb") as handle:
            return setting.verify(module, module_file, decode_source(handle.read()).text, target)
    watch = None
    reason = None
    obj = getattr(module, target["attr"], None)
    if obj is not None and target.get("findings"):
        watched = _watch(adapter, module, module_file, target)
        if isinstance(watched, str):
            reason = watched
        else:
            watch, obj = watched, watched.obj
    if watch is not None and gradients.decides_all(adapter, target):  # EPS504/EPS505 only: the value grid shows nothing
        return gradients.amend(adapter, watch.obj, target, watch, _per_finding(checks.result("skipped", "not run"), target))
    outcome = _per_finding(_verify_object(adapter, obj, target, watch, given or {}), target, reason)
    if gradients.applies(target):  # EPS504/EPS505: decided by the gradient
        outcome = gradients.amend(adapter, obj, target, watch, outcome)
    return outcome


def _verify_object(adapter: Any, obj: Any, target: dict[str, Any], watch: Any, table: dict[str, Any]) -> dict[str, Any]:
    from . import checks, exact_loss, models, modules, steps
    from .given import given_for

    kind = target["kind"]
    if obj is None:
        return checks.result("error", f"`{target['attr']}` is not defined after importing the module")
    if kind == "factory":
        factory = obj
        try:
            import inspect

            required = [p.name for p in inspect.signature(factory).parameters.values() if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        except (TypeError, ValueError):
            required = []
        outer = given_for(table, target["attr"])
        required = [n for n in required if n not in outer]
        if required:
            names = ", ".join(f"`{n}`" for n in required)
            return checks.result("skipped", f"`{target['inner']}` is nested in `{target['attr']}`, which needs {names} to build it; give them in `lint_eps_inputs()`")
        obj = factory(**outer)
        if not callable(obj) or isinstance(obj, type):
            return checks.result("skipped", f"`{target['attr']}()` returned {type(obj).__name__}, not the nested function `{target['inner']}`")
        kind = "function"
    if isinstance(obj, type):
        class_kind = checks.keras_class_kind(obj)
        if class_kind is None:
            where = f"`{target['method']}` is a method of `{obj.__name__}`, which" if target.get("method") else f"`{obj.__name__}`"
            return checks.result("skipped", f"{where} is not a Keras Metric, Loss or Layer, or a torch Module, so there is nothing to call it on")
        if class_kind == "module":  # built with its sizes, the flagged method called
            subject = modules.subject(adapter.torch, obj, target, given_for(table, target["attr"]))
        else:
            subject = checks.subject_for_class(obj, class_kind, target.get("role"), given_for(table, target["attr"]))
    elif callable(obj):
        overflow = any(str(f.get("code", "")).startswith("EPS50") for f in target.get("findings") or [])
        given = given_for(table, f"{target['attr']}.{target['inner']}" if target.get("inner") else None, target.get("inner") or target["attr"])
        subject = checks.subject_for_function(obj, target.get("role"), overflow=overflow, given=given)
        if isinstance(subject, dict) and (models.applies(target) or not target.get("findings")):  # a model builder or training step
            return models.verify(adapter, obj, target, [f.text for f in watch.findings] if watch else []) or subject
        if isinstance(subject, dict):  # a training step's own findings: run through the step (steps.py)
            return steps.verify(adapter, obj, target, watch) or subject
    else:
        return checks.result("skipped", f"`{target['attr']}` is a {type(obj).__name__}, not a function or class")
    if isinstance(subject, dict):
        return subject
    budget = target["timeout"] * checks.BUDGET_SHARE if target.get("timeout") else None
    outcome = checks.verify(adapter, subject, tuple(target.get("dtypes") or checks.DTYPES), watch, budget)
    return exact_loss.amend(adapter, subject, target, watch, outcome)  # EPS301: a wrong loss value, not a NaN


def main(argv: list[str]) -> int:
    with open(argv[1], encoding="utf-8") as handle:
        job = json.load(handle)
    channel = os.fdopen(int(argv[2]), "w", buffering=1, encoding="utf-8")
    _limit_memory(int(job.get("memory_limit", 0)))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from . import checks

    try:
        adapter = checks.ADAPTERS[job["framework"]]()
    except BaseException as exc:  # noqa: BLE001 - anything here is reported, never raised
        reason = _missing_framework(exc)
        _send(channel, event="module", ok=False, status="skipped" if reason else "error", message=reason or f"importing {job['framework']} failed: {checks.describe(exc)}")
        return 0
    _send(channel, event="framework")
    from .inputs import SEED

    checks.np.random.seed(SEED)  # user code drawing from NumPy's global generator draws the same in every run
    if any(t["kind"] == "setting" for t in job["targets"]):
        from . import setting

        try:
            setting.snapshot()  # Keras's epsilon before the module's import changes it (EPS402)
        except Exception:  # noqa: BLE001 - no Keras: the settings' results say so
            pass
    try:
        module = _import_module(job)
    except SystemExit as exc:
        _send(channel, event="module", ok=False, status="error", message=f"importing the module called sys.exit({exc.code!r})")
        return 0
    except BaseException as exc:  # noqa: BLE001
        reason = _missing_framework(exc)
        message = reason or f"cannot import the module: {checks.describe(exc)}"
        _send(channel, event="module", ok=False, status="skipped" if reason else "error", message=message)
        return 0
    _send(channel, event="module", ok=True)
    from .given import GivenError, given_inputs

    try:
        table, given_error = given_inputs(module), None
    except GivenError as exc:
        table, given_error = {}, str(exc)
    for index, target in enumerate(job["targets"]):
        _send(channel, event="start", index=index)
        try:
            if given_error:
                raise GivenError(given_error)
            outcome = verify_target(adapter, module, {**target, "timeout": job.get("timeout")}, job["module_file"], table)
        except GivenError as exc:
            outcome = _per_finding(checks.result("error", str(exc)), target)
        except SystemExit as exc:
            outcome = _per_finding(checks.result("error", f"the function called sys.exit({exc.code!r})"), target)
        except BaseException as exc:  # noqa: BLE001 - the user's code raised while being set up
            outcome = _per_finding(checks.result("error", checks.describe(exc)), target)
        _send(channel, event="result", index=index, **{k: outcome.get(k) for k in ("status", "message", "counterexample", "findings")})
    _send(channel, event="done")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
