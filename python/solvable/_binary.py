"""Finding the ``solvable`` executable.

In order: the ``binary=`` argument of a call, :func:`set_binary`, the ``SOLVABLE_BINARY`` environment variable,
``solvable`` on ``PATH``, and finally the repository checkout that contains the current directory (or this package,
for an editable install): its ``.build/release/solvable``, built with ``swift build -c release`` when missing.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .errors import BinaryNotFoundError

_explicit = None


def set_binary(path):
    """Use this ``solvable`` executable for every later call (``None`` restores the search)."""
    global _explicit
    _explicit = None if path is None else _checked(path, "set_binary")


def _checked(path, source):
    p = Path(os.fspath(path)).expanduser()
    if not (p.is_file() and os.access(p, os.X_OK)):
        raise BinaryNotFoundError("%s: %s is not an executable file" % (source, p))
    return str(p.resolve())


def find_checkout(start=None):
    """The Solvable repository containing ``start`` (default: the current directory, then this package), or None."""
    starts = [Path(start)] if start is not None else [Path.cwd(), Path(__file__).resolve().parent]
    for s in starts:
        for d in [s.resolve(), *s.resolve().parents]:
            manifest = d / "Package.swift"
            if manifest.is_file() and 'name: "Solvable"' in manifest.read_text(errors="replace"):
                return d
    return None


def find_binary(binary=None, build=True):
    """The path of the ``solvable`` executable to run (see the module docstring for the search order)."""
    if binary is not None:
        return _checked(binary, "binary")
    if _explicit is not None:
        return _explicit
    env = os.environ.get("SOLVABLE_BINARY")
    if env:
        return _checked(env, "SOLVABLE_BINARY")
    on_path = shutil.which("solvable")
    if on_path:
        return on_path
    root = find_checkout()
    if root is not None:
        built = root / ".build" / "release" / "solvable"
        if built.is_file():
            return str(built)
        if build:
            return _build(root, built)
    raise BinaryNotFoundError(
        "the solvable executable was not found: pass binary=..., call solvable.set_binary(path), set SOLVABLE_BINARY, "
        "put solvable on PATH, or use the package inside the repository (it then runs `swift build -c release`)")


def _build(root, built):
    if shutil.which("swift") is None:
        raise BinaryNotFoundError("no solvable executable in %s and no `swift` to build it (see README: Install)" % root)
    print("solvable: building the command-line tool in %s (swift build -c release; the first build takes minutes)" % root,
          file=sys.stderr, flush=True)
    proc = subprocess.run(["swift", "build", "-c", "release", "--product", "solvable"], cwd=str(root),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0 or not built.is_file():
        tail = "\n".join(proc.stdout.splitlines()[-20:])
        raise BinaryNotFoundError("swift build -c release failed in %s:\n%s" % (root, tail))
    return str(built)
