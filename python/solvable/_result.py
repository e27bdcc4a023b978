"""The outputs of one run: :class:`Result` and :func:`load`."""

import csv
import json
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from . import _catalog

try:  # optional
    import pandas as pd
except ImportError:  # pragma: no cover - exercised by the tests through monkeypatching
    pd = None

try:  # optional
    import xarray as xr
except ImportError:  # pragma: no cover
    xr = None


class _LazyFiles(Mapping):
    """Read-only mapping name -> loaded file, loading each on first access (keeps its result, and so a temporary
    output folder, alive)."""

    def __init__(self, result, suffix, loader):
        self._result, self._suffix, self._loader, self._cache = result, suffix, loader, {}

    def _names(self):
        return sorted(p.stem for p in self._result.out.glob("*" + self._suffix) if not p.name.startswith("."))

    def __getitem__(self, name):
        if name not in self._cache:
            path = self._result.out / (name + self._suffix)
            if not path.is_file():
                raise KeyError("%s: no %s%s in %s (have: %s)" % (name, name, self._suffix, self._result.out,
                                                                ", ".join(self._names()) or "none"))
            self._cache[name] = self._loader(path)
        return self._cache[name]

    def __iter__(self):
        return iter(self._names())

    def __len__(self):
        return len(self._names())

    def __repr__(self):
        return "<%s: %s>" % (self._suffix, ", ".join(self._names()))


def read_table(path, schema_entry=None):
    """A CSV table as a pandas DataFrame (when pandas is installed) or a dict of numpy columns.

    Numbers (including ``inf``) become float columns, empty cells NaN; string columns (``note``, ``model``, ...) stay
    strings, with empty cells as ``""``.
    """
    strings = {c["name"] for c in (schema_entry or {}).get("columns", []) if c["type"] == "string"}
    if pd is not None:
        df = pd.read_csv(path)
        for col in [c for c in df.columns if c in strings]:
            df[col] = df[col].fillna("").astype(str)
        return df
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = (rows[0], rows[1:]) if rows else ([], [])
    table = {}
    for k, name in enumerate(header):
        cells = [r[k] if k < len(r) else "" for r in body]
        try:
            if name in strings:
                raise ValueError
            table[name] = np.array([float(c) if c != "" else np.nan for c in cells], dtype=float)
        except ValueError:
            table[name] = np.array(cells, dtype=object)
    return table


class Result:
    """The outputs of one command: arrays, tables, figures, ``result.json`` and ``manifest.json`` of its folder.

    * ``arrays["phi_layer2"]``: a .npy file as a numpy array; ``dims("phi_layer2")`` names its axes, e.g.
      ``("t", "mu", "s", "nu")``, and ``dataarray("phi_layer2")`` returns it as an ``xarray.DataArray`` (xarray
      installed).
    * ``tables["loss"]``: a CSV table as a pandas DataFrame (or a dict of numpy columns without pandas).
    * ``result``: ``result.json`` as a dict; ``manifest``: ``manifest.json`` (parameters, seed, environment, status).
    * ``status``, ``converged``, ``agreement``, ``solvers``, ``wall_seconds``, ``files``, ``figures`` (SVG paths).
    * ``out``: the folder. A temporary folder (no ``out=`` given) lives as long as this object.
    """

    def __init__(self, out, *, command=None, document=None, keep=()):
        self.out = Path(out)
        self._keep = tuple(keep)  # temporary folders that must live as long as this result
        self.manifest = _read_json(self.out / "manifest.json")
        self.result = _read_json(self.out / "result.json")
        self.document = document
        self.command = command or (self.manifest or {}).get("command")
        if self.command is None and self.manifest and "figures" in self.manifest:
            self.command = "reproduce"
        self.schema = _catalog.outputs(self.command) if self.command else None
        self.arrays = _LazyFiles(self, ".npy", np.load)
        self.tables = _LazyFiles(self, ".csv", lambda p: read_table(p, _catalog.file_entry(self.schema, p.name)))

    # -- what the run says about itself

    @property
    def status(self):
        if self.manifest and "status" in self.manifest:
            return self.manifest["status"]
        return (self.document or {}).get("status")

    @property
    def converged(self):
        return self.status == "converged"

    @property
    def agreement(self):
        return (self.manifest or self.document or {}).get("agreement", [])

    @property
    def solvers(self):
        return (self.manifest or self.document or {}).get("solvers", {})

    @property
    def parameters(self):
        return (self.manifest or {}).get("parameters", {})

    @property
    def wall_seconds(self):
        return (self.manifest or self.document or {}).get("wall_seconds")

    @property
    def files(self):
        if self.manifest and "files" in self.manifest:
            return list(self.manifest["files"])
        return sorted(p.name for p in self.out.iterdir() if not p.name.startswith("."))

    @property
    def figures(self):
        return {p.stem: p for p in sorted(self.out.glob("*.svg"))}

    def path(self, name):
        """The path of an output file, e.g. ``path("loss.csv")``."""
        return self.out / name

    # -- named axes

    def describe(self, name):
        """The schema entry of a file (``"phi_layer1"``, ``"phi_layer1.npy"`` or ``"loss.csv"``): dtype, shapes, units,
        meaning, columns or keys; None when the command declares no such file."""
        if "." not in name:
            for suffix in (".npy", ".csv", ".json", ".svg"):
                if (self.out / (name + suffix)).exists() or _catalog.file_entry(self.schema, name + suffix):
                    name = name + suffix
                    break
        return _catalog.file_entry(self.schema, name)

    def dims(self, name):
        """The axis names of array ``name`` in order, e.g. ``("t", "mu", "s", "nu")``, from the command's schema."""
        entry = self.describe(name if name.endswith(".npy") else name + ".npy")
        if entry is None:
            return None
        ndim = self.arrays[name[:-4] if name.endswith(".npy") else name].ndim
        for layout in entry.get("shapes", []):
            if len(layout) == ndim:
                return tuple(layout)
        return None

    def dataarray(self, name):
        """Array ``name`` as an ``xarray.DataArray`` with named dimensions (integer coordinates on time axes) and the
        schema's units and meaning as attributes. Needs xarray."""
        if xr is None:
            raise ImportError("dataarray() needs xarray: pip install xarray")
        stem = name[:-4] if name.endswith(".npy") else name
        a = self.arrays[stem]
        dims = self.dims(stem) or tuple("dim_%d" % k for k in range(a.ndim))
        coords = {d: np.arange(n) for d, n in zip(dims, a.shape) if d in ("t", "s")}
        entry = self.describe(stem + ".npy") or {}
        return xr.DataArray(a, dims=dims, coords=coords, name=stem,
                            attrs={"units": entry.get("units", ""), "meaning": entry.get("meaning", "")})

    def __getitem__(self, name):
        """``r["phi_layer1"]`` (array), ``r["loss"]`` (table) or ``r["final_loss"]`` (a result.json key)."""
        if (self.out / (name + ".npy")).is_file():
            return self.arrays[name]
        if (self.out / (name + ".csv")).is_file():
            return self.tables[name]
        if self.result and name in self.result:
            return self.result[name]
        raise KeyError("%s: not an array, table or result key of %s" % (name, self.out))

    def __repr__(self):
        return "<solvable.Result %s: status %s, %d arrays, %d tables, folder %s>" % (
            self.command, self.status, len(self.arrays), len(self.tables), self.out)


def _read_json(path):
    if not path.is_file():
        return None
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def load(out_dir):
    """Opens an existing output folder (written by ``solvable <model> <verb> --out DIR``, ``reproduce`` or this package):
    arrays, tables, result.json and manifest.json, with array axes named from the command's schema."""
    out = Path(os.fspath(out_dir)).expanduser()
    if not out.is_dir():
        raise FileNotFoundError("%s is not a folder" % out)
    return Result(out)
