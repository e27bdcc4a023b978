"""Solvable from Python: theory and simulation of solvable models of learning and memory in large neural networks.

One function per command of the ``solvable`` command-line tool, with keyword arguments named as its flags::

    import numpy as np, solvable as sv
    X = np.random.default_rng(0).standard_normal((8, 16))      # P x D: rows are samples
    r = sv.dmft.solve(inputs=X, targets=np.sign(X[:, 0]), depth=3, gamma0=1.5, steps=30, eta=0.2)
    r.tables["loss"]               # pandas DataFrame (t, tau, loss)
    r.arrays["phi_layer3"]         # numpy array, axes r.dims("phi_layer3") == ("t", "mu", "s", "nu")

Namespaces: ``sv.features``, ``sv.memory``, ``sv.dmft``, ``sv.fluctuations``, ``sv.core``; ``sv.reproduce(...)`` for the
papers' figures; ``sv.load(folder)`` opens any output folder; ``sv.schema("dmft solve")`` documents a command's files.
Failures raise :class:`BadInputError` (a ``ValueError``), :class:`NotConvergedError`, :class:`AgreementFailedError`
or :class:`SolvableRuntimeError`, each carrying the CLI's message.
"""

from ._binary import find_binary, set_binary
from ._commands import build_namespaces, commands, reproduce, run, schema
from ._result import Result, load, read_table
from .errors import (AgreementFailedError, BadInputError, BinaryNotFoundError, NotConvergedError, SolvableError,
                     SolvableRuntimeError)

__version__ = "0.1.0"

_models = build_namespaces(__name__)
features = _models["features"]
memory = _models["memory"]
dmft = _models["dmft"]
fluctuations = _models["fluctuations"]
core = _models["core"]

__all__ = ["features", "memory", "dmft", "fluctuations", "core", "reproduce", "load", "run", "commands", "schema",
           "Result", "read_table", "find_binary", "set_binary", "SolvableError", "BadInputError", "NotConvergedError",
           "AgreementFailedError", "SolvableRuntimeError", "BinaryNotFoundError"]
