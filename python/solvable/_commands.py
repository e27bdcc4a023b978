"""One Python function per ``solvable`` command, made from the bundled catalog (``solvable schema --json``): keyword
arguments named as the flags, signatures with the CLI's defaults and docstrings with each parameter's help and
allowed values. Calls run the binary with ``--out DIR --json`` and return a :class:`~solvable.Result`."""

import difflib
import inspect
import json
import keyword
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import types
import warnings
from pathlib import Path

import numpy as np

from . import _catalog
from ._binary import find_binary
from ._result import Result
from .errors import SolvableRuntimeError, error_for, message_from

# keyword arguments of every command function besides the command's own parameters
COMMON = ("out", "seed", "threads", "config", "binary", "verbose", "timeout")

_TYPES = {"int": "int", "float": "float", "bool": "bool", "string": "str", "choice": "str", "int_list": "list[int]",
          "float_list": "list[float]", "file": "path or array"}


def py_name(name):
    """The keyword argument of a parameter: its name, with ``_`` appended to Python keywords (``lambda_``)."""
    return name + "_" if keyword.iskeyword(name) else name


def _number(v):
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    return str(v)


def _save_array(value, directory, stem):
    path = Path(directory) / (stem + ".npy")
    np.save(path, np.asarray(value, dtype=float))
    return str(path)


def flag_value(spec, value, inputs_dir):
    """The command-line text of one parameter value: lists joined by commas, booleans true/false, arrays for file
    parameters written to a temporary .npy (``file:PATH`` specs of string parameters likewise)."""
    kind = spec["type"]
    if kind == "bool":
        return _number(bool(value)) if isinstance(value, (bool, np.bool_)) else str(value)
    if kind in ("int_list", "float_list"):
        if isinstance(value, str):
            return value
        return ",".join(_number(v) for v in np.ravel(np.asarray(value, dtype=object)).tolist())
    if kind == "file":
        if isinstance(value, (str, os.PathLike)):
            return os.fspath(value)
        return _save_array(value, inputs_dir, spec["name"])
    if kind == "string" and "file:PATH" in spec["help"] and not isinstance(value, (str, os.PathLike)):
        return "file:" + _save_array(value, inputs_dir, spec["name"])
    if kind in ("int", "float"):
        return _number(value)
    return str(value)


def _unknown(command, key, known):
    close = difflib.get_close_matches(key, known, n=3)
    hint = (" (did you mean %s?)" % ", ".join(close)) if close else ""
    return TypeError("%s() got an unexpected keyword argument %r%s; its parameters: %s"
                     % (command.replace(" ", "."), key, hint, ", ".join(sorted(known))))


def run(command, parameters=None, *, out=None, seed=None, threads=None, config=None, binary=None, verbose=False,
        timeout=None):
    """Runs ``solvable <command>`` with ``parameters`` (a dict keyed by parameter name) and returns its Result.

    ``command`` is "dmft solve" or ["dmft", "solve"]. See the per-command functions (``solvable.dmft.solve``) for the
    parameters; the keyword arguments here are those every command takes."""
    entry = _catalog.command(command)
    if entry is None:
        raise ValueError("unknown command %r; commands: %s" % (command, ", ".join(commands())))
    name = " ".join(entry["path"])
    specs = {p["name"]: p for p in entry["parameters"]}
    known = [py_name(p) for p in specs]
    inputs = tempfile.TemporaryDirectory(prefix="solvable-inputs-")
    flags = []
    for key, value in (parameters or {}).items():
        if value is None:
            continue
        pname = key[:-1] if key.endswith("_") and keyword.iskeyword(key[:-1]) else key.replace("-", "_")
        if pname not in specs:
            raise _unknown(name, key, known)
        flags += [specs[pname]["flag"], flag_value(specs[pname], value, inputs.name)]
    if config is not None:
        if isinstance(config, dict):
            path = Path(inputs.name) / "config.json"
            path.write_text(json.dumps(config), encoding="utf-8")
            config = path
        flags += ["--config", os.fspath(config)]
    out, scratch = _output_folder(out, "solvable-out-")
    args = ([find_binary(binary)] + entry["path"] + flags + _run_flags(seed, threads, verbose) + ["--out", out, "--json"])
    code, stdout, stderr = execute(args, verbose=verbose, timeout=timeout)
    document = None
    if stdout.lstrip().startswith("{"):
        try:
            document = json.loads(stdout)
        except ValueError:
            document = None
    # outputs exist after success, and after exit 3 or 4 (written, then marked); otherwise a folder may hold an old run
    result = None
    if code in (0, 3, 4) and (Path(out) / "manifest.json").is_file():
        result = Result(out, command=name, document=document, keep=(scratch, inputs))
        _check_version(result)
    if code == 0 and result is not None:
        return result
    if code == 0:
        raise SolvableRuntimeError("solvable %s exited 0 but wrote no manifest.json in %s" % (name, out), command=name, stderr=stderr)
    raise error_for(code, message_from(stderr, code), command=name, stderr=stderr, result=result)


def _run_flags(seed, threads, verbose):
    flags = [] if verbose else ["--quiet"]
    if seed is not None:
        flags += ["--seed", _number(seed)]
    if threads is not None:
        flags += ["--threads", _number(threads)]
    return flags


def _output_folder(out, prefix):
    """(folder, temporary folder object or None): ``out``, else a temporary folder the result keeps alive."""
    if out is not None:
        return os.fspath(out), None
    scratch = tempfile.TemporaryDirectory(prefix=prefix)
    return scratch.name, scratch


def execute(args, *, verbose=False, timeout=None):
    """Runs the binary, collecting stdout and stderr (echoing stderr when verbose); Ctrl-C or a timeout interrupts
    it with SIGINT (then SIGKILL after 10 s). Returns (exit status, stdout, stderr)."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
                            errors="replace")
    out, err = [], []

    def pump_out():
        out.append(proc.stdout.read())

    def pump_err():
        for line in proc.stderr:
            err.append(line)
            if verbose:
                sys.stderr.write(line)
                sys.stderr.flush()

    threads = [threading.Thread(target=pump_out, daemon=True), threading.Thread(target=pump_err, daemon=True)]
    for t in threads:
        t.start()
    try:
        proc.wait(timeout=timeout)
    except (KeyboardInterrupt, subprocess.TimeoutExpired) as e:
        _interrupt(proc)
        if isinstance(e, KeyboardInterrupt):
            raise
        for t in threads:
            t.join()
        raise SolvableRuntimeError("solvable %s did not finish within %s s and was interrupted" % (" ".join(args[1:3]), timeout),
                                   stderr="".join(err)) from None
    for t in threads:
        t.join()
    return proc.returncode, "".join(out), "".join(err)


def _interrupt(proc):
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


_warned = set()


def _check_version(result):
    ran = ((result.manifest or {}).get("environment") or {}).get("solvable_version")
    bundled = _catalog.catalog().get("solvable_version")
    if ran and bundled and ran != bundled and ran not in _warned:
        _warned.add(ran)
        warnings.warn("the solvable binary is version %s but this Python package was generated for %s; "
                      "parameters or outputs may differ" % (ran, bundled), stacklevel=3)


def commands():
    """Every compute command, e.g. ["core quadrature", "features theory", ...]."""
    return [" ".join(c["path"]) for c in _catalog.catalog()["commands"]]


def schema(command):
    """The documented outputs of a command ("dmft solve" or "reproduce"): files, dtypes, shapes with named axes,
    units and meaning (as ``solvable dmft solve --schema --json``)."""
    s = _catalog.outputs(command)
    if s is None:
        raise ValueError("unknown command %r; commands: %s, reproduce" % (command, ", ".join(commands())))
    return s


# -- the generated functions

def _type_text(spec):
    t = _TYPES.get(spec["type"], spec["type"])
    if spec["type"] == "choice":
        t = "{" + ", ".join(repr(c) for c in spec["choices"]) + "}"
    if spec["type"] == "string" and "file:PATH" in spec["help"]:
        t = "str or array"
    if spec["default"] is not None:
        return "%s, default %s" % (t, json.dumps(spec["default"]))
    return t + (", required" if spec["required"] else ", optional")


def _wrap(text, first, rest):
    return textwrap.wrap(text, 100, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False,
                         break_long_words=False)


def _docstring(entry):
    name = " ".join(entry["path"])
    lines = ["solvable %s: %s" % (name, entry["abstract"]), ""]
    if entry["discussion"]:
        lines += _wrap(" ".join(entry["discussion"].split()), "", "") + [""]
    lines += ["Parameters", "----------"]
    for p in entry["parameters"]:
        lines.append("%s : %s" % (py_name(p["name"]), _type_text(p)))
        extra = ""
        if p["type"] == "file":
            extra = " A numpy array (or list) is written to a temporary .npy file (rows are samples)."
        elif p["type"] == "string" and "file:PATH" in p["help"]:
            extra = " An array is passed as file:PATH of a temporary .npy file."
        elif p["type"] in ("int_list", "float_list"):
            extra = " A list, tuple or array (joined by commas)."
        lines += _wrap("%s. Allowed: %s.%s" % (p["help"], p["allowed"], extra), "    ", "    ")
    lines += [
        "out : path, optional",
        "    Output folder; default: a temporary folder that lives as long as the returned result.",
        "seed : int, default 0",
        "    Base random seed; streams derive from (seed, point, sample).",
        "threads : int, optional",
        "    Threads (default: SLURM_CPUS_PER_TASK, else all cores).",
        "config : path or dict, optional",
        "    A TOML/JSON config file (or a dict) with the same keys; keyword arguments override it.",
        "binary : path, optional",
        "    The solvable executable (default: set_binary(), SOLVABLE_BINARY, PATH, or built in the checkout).",
        "verbose : bool, default False",
        "    Stream the command's log and progress to stderr.",
        "timeout : float, optional",
        "    Seconds after which the command is interrupted (SIGINT) and SolvableRuntimeError raised.",
        "",
        "Returns",
        "-------",
        "Result",
        "    Arrays (numpy), tables (pandas DataFrames), result.json and manifest.json of the run:",
    ]
    for f in (entry.get("outputs") or {}).get("files", []):
        if f["format"] in ("svg", "checkpoint"):
            continue
        where = {"npy": "arrays[%r]", "csv": "tables[%r]"}.get(f["format"])
        stem = f["name"].rsplit(".", 1)[0]
        access = (where % stem.replace("{l}", "1")) if where else {"result.json": "result", "manifest.json": "manifest"}.get(f["name"], "")
        shape = " or ".join("[" + ", ".join(s) + "]" for s in f.get("shapes", []))
        lines += _wrap("%s%s -> %s: %s%s" % (f["name"], (" " + shape) if shape else "", access, f["meaning"],
                                            "" if f["condition"] is None else " (%s)" % f["condition"]), "    - ", "      ")
    lines += ["", "Raises", "------",
              "BadInputError (a ValueError; exit 2), NotConvergedError (exit 3, partial result in .result),",
              "AgreementFailedError (exit 4), SolvableRuntimeError (exit 1), each with the CLI's message.", ""]
    if entry["examples"]:
        lines += ["Command-line examples", "---------------------"] + ["    " + e for e in entry["examples"]]
    return "\n".join(lines)


def make_function(entry):
    """The Python function of one catalog entry."""
    path = list(entry["path"])

    def command(**kwargs):
        common = {k: kwargs.pop(k) for k in list(kwargs) if k in COMMON}
        return run(path, kwargs, **common)

    params = [inspect.Parameter(py_name(p["name"]), inspect.Parameter.KEYWORD_ONLY, default=p["default"],
                                annotation=_TYPES.get(p["type"], p["type"])) for p in entry["parameters"]]
    params += [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=(False if k == "verbose" else None))
               for k in COMMON]
    command.__signature__ = inspect.Signature(params, return_annotation="solvable.Result")
    command.__name__ = command.__qualname__ = path[-1]
    command.__module__ = "solvable." + path[0]
    command.__doc__ = _docstring(entry)
    command.command = " ".join(path)
    return command


def build_namespaces(package):
    """A module per model (``solvable.dmft``, ...) holding its commands' functions, registered in ``sys.modules``."""
    modules = {}
    for entry in _catalog.catalog()["commands"]:
        model = entry["path"][0]
        if model not in modules:
            mod = types.ModuleType("%s.%s" % (package, model), "Commands of `solvable %s`." % model)
            mod.__all__ = []
            modules[model] = mod
            sys.modules[mod.__name__] = mod
        fn = make_function(entry)
        setattr(modules[model], fn.__name__, fn)
        modules[model].__all__.append(fn.__name__)
    return modules


def reproduce(figure=None, *, scale="quick", out=None, seed=None, threads=None, list=False, binary=None,
              verbose=False, timeout=None):
    """solvable reproduce: the papers' key figures, theory against simulation, into ``out/report.html``.

    figure : str or list of str, optional -- only these figures (``reproduce(list=True)`` names them)
    scale : "quick" (minutes on 2 cores) or "paper" (the published settings)
    list : bool -- return the registered figures as dicts (name, model, title) instead of running them

    Returns a Result (``manifest["figures"]`` holds each figure's agreement and pass/fail; ``figures`` the SVG panels).
    Raises SolvableRuntimeError when a figure failed to run, NotConvergedError when a solver did not converge
    (``.result`` holds the report either way)."""
    exe = find_binary(binary)
    if list:
        code, stdout, stderr = execute([exe, "reproduce", "--list"], timeout=timeout)
        if code != 0:
            raise error_for(code, message_from(stderr, code), command="reproduce", stderr=stderr)
        rows = [line.split("\t") for line in stdout.splitlines() if line.strip()]
        return [{"name": r[0], "model": r[1], "title": r[2] if len(r) > 2 else ""} for r in rows]
    args = [exe, "reproduce", "--scale", scale]
    for f in ([figure] if isinstance(figure, str) else (figure or [])):
        args += ["--figure", f]
    out, scratch = _output_folder(out, "solvable-reproduce-")
    args += _run_flags(seed, threads, verbose) + ["--out", out]
    code, _, stderr = execute(args, verbose=verbose, timeout=timeout)
    result = Result(out, command="reproduce", keep=(scratch,)) if (Path(out) / "manifest.json").is_file() else None
    if code == 0 and result is not None:
        return result
    raise error_for(code, message_from(stderr, code), command="reproduce", stderr=stderr, result=result)
