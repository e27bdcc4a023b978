"""The generated functions, argument conversion, exceptions, binary search, temporary folders and loading."""

import gc
import inspect
import json
import os
import subprocess

import numpy as np
import pytest

import solvable as sv
from solvable import _catalog, _commands, _result
from solvable.errors import error_for


def test_one_function_per_command_with_the_flags_as_keywords():
    for entry in _catalog.catalog()["commands"]:
        model, verb = entry["path"]
        fn = getattr(getattr(sv, model), verb)
        sig = inspect.signature(fn)
        for p in entry["parameters"]:
            name = _commands.py_name(p["name"])
            assert name in sig.parameters, (fn.command, name)
            assert sig.parameters[name].default == p["default"]
            assert p["help"].split()[0] in fn.__doc__ and p["allowed"] in " ".join(fn.__doc__.split())
        assert not set(_commands.COMMON) & {p["name"] for p in entry["parameters"]}, fn.command
    assert "lambda_" in inspect.signature(sv.features.theory).parameters
    assert "[t, mu, s, nu]" in sv.dmft.solve.__doc__


def test_lists_and_numbers_reach_the_cli_unchanged(binary, tmp_path):
    r = sv.core.quadrature(gains=np.array([0.5, 1.25]), order=16, samples=500, seed=3)
    assert r.converged and r.command == "core quadrature"
    assert list(r.tables["quadrature"]["gain"]) == [0.5, 1.25]
    # the same run through the CLI directly gives the same numbers
    cli = subprocess.run([binary, "core", "quadrature", "--gains", "0.5,1.25", "--order", "16", "--samples", "500",
                          "--seed", "3", "--json", "--quiet"], capture_output=True, text=True, check=True)
    assert json.loads(cli.stdout)["result"] == r.result
    assert r.manifest["parameters"]["gains"] == [0.5, 1.25] and r.manifest["seed"] == 3


def test_bad_input_is_a_value_error_with_the_clis_message(binary):
    with pytest.raises(sv.BadInputError) as e:
        sv.dmft.solve(depth=0)
    assert isinstance(e.value, ValueError) and e.value.exit_code == 2
    assert "depth" in str(e.value) and "[1, 32]" in str(e.value)


def test_unknown_keyword_is_a_type_error_before_running():
    with pytest.raises(TypeError, match="gamma0"):
        sv.dmft.solve(gamma=1.0, binary="/nonexistent")


def test_not_converged_carries_the_partial_result(binary):
    with pytest.raises(sv.NotConvergedError) as e:
        sv.features.theory(n0=100, widths=[50], samples=[20, 70], lambda_=0.1, max_iterations=1)
    r = e.value.result
    assert e.value.exit_code == 3 and "did not converge" in str(e.value)
    assert r is not None and not r.converged
    assert "maxIterations" in set(r.tables["theory"]["status"])
    assert r.result["not_converged_samples"]


def test_exit_codes_map_to_exceptions():
    assert isinstance(error_for(1, "x"), sv.SolvableRuntimeError) and isinstance(error_for(1, "x"), RuntimeError)
    assert isinstance(error_for(2, "x"), sv.BadInputError)
    assert isinstance(error_for(3, "x"), sv.NotConvergedError)
    assert isinstance(error_for(4, "x"), sv.AgreementFailedError)
    assert isinstance(error_for(-9, "x"), sv.SolvableRuntimeError)


def test_timeout_interrupts_the_run(binary):
    with pytest.raises(sv.SolvableRuntimeError, match="interrupted"):
        sv.core.quadrature(gains=[1] * 64, samples=100_000_000, threads=1, timeout=0.5)


def test_out_folder_and_load(binary, tmp_path):
    out = tmp_path / "run"
    r = sv.memory.simulate(neurons=40, patterns=10, steps=12, out=out)
    assert r.out == out and (out / "manifest.json").is_file()
    again = sv.load(out)
    assert again.command == "memory simulate"
    np.testing.assert_array_equal(again.arrays["overlaps"], np.load(out / "overlaps.npy"))
    assert again.dims("overlaps") == ("t", "mu") and again.arrays["overlaps"].shape == (13, 10)
    assert again["final_recall_errors"] == r.result["final_recall_errors"]
    assert set(again.figures) >= {"overlaps", "errors"}
    with pytest.raises(FileNotFoundError):
        sv.load(tmp_path / "missing")


def test_temporary_output_folder_lives_as_long_as_its_result(binary):
    r = sv.core.quadrature(gains=[1], order=8, samples=100)
    table, folder = r.tables["quadrature"], r.out
    assert folder.is_dir()
    del r
    gc.collect()
    assert not folder.exists() and len(table["gain"]) == 1


def test_tables_without_pandas(binary, monkeypatch):
    r = sv.features.theory(n0=100, widths=[100], samples=[50, 100, 200], noise=0.25)   # P = n_min: eps_g = inf by design
    monkeypatch.setattr(_result, "pd", None)
    t = _result.read_table(r.path("theory.csv"), _catalog.file_entry(r.schema, "theory.csv"))
    assert isinstance(t["eps_g"], np.ndarray) and t["eps_g"].dtype == float
    assert np.isinf(t["eps_g"][1]) and np.isfinite(t["eps_g"][[0, 2]]).all()
    assert t["note"].dtype == object and "peak" in t["note"][1] and t["note"][0] == ""


def test_dataarray_names_the_axes(binary):
    xr = pytest.importorskip("xarray")
    r = sv.dmft.solve(depth=2, points=3, dim=5, steps=4, test_points=1)
    a = r.dataarray("phi_layer2")
    assert isinstance(a, xr.DataArray) and a.dims == ("t", "mu", "s", "nu") and a.shape == (4, 4, 4, 4)
    assert list(a.coords["t"].values) == [0, 1, 2, 3] and "feature kernel" in a.attrs["meaning"]
    assert r.dims("g_layer1") == ("t", "s")          # deep linear: G carries no sample index
    assert r.dims("delta") == ("t", "mu") and r.arrays["delta"].shape == (4, 3)


def test_binary_search_order(binary, monkeypatch, tmp_path):
    monkeypatch.setenv("SOLVABLE_BINARY", str(tmp_path / "nope"))
    with pytest.raises(sv.BinaryNotFoundError, match="SOLVABLE_BINARY"):
        sv.find_binary()
    assert sv.find_binary(binary) == os.path.realpath(binary)            # an explicit argument wins
    sv.set_binary(binary)
    try:
        assert sv.find_binary() == os.path.realpath(binary)
    finally:
        sv.set_binary(None)
    monkeypatch.delenv("SOLVABLE_BINARY")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "solvable").symlink_to(binary)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert sv.find_binary() == str(tmp_path / "bin" / "solvable")
    monkeypatch.setenv("PATH", "")
    monkeypatch.chdir(tmp_path)
    if _catalog_checkout() is None:   # outside the repository nothing is left to find
        with pytest.raises(sv.BinaryNotFoundError):
            sv.find_binary()


def _catalog_checkout():
    from solvable._binary import find_checkout
    return find_checkout()


def test_checkout_build_is_found(binary, monkeypatch):
    from solvable._binary import find_checkout
    from conftest import REPO
    if not (REPO / "Package.swift").is_file() or not (REPO / ".build/release/solvable").is_file():
        pytest.skip("not run from a built checkout")
    monkeypatch.delenv("SOLVABLE_BINARY", raising=False)
    monkeypatch.setenv("PATH", "")
    monkeypatch.chdir(REPO / "python")
    assert find_checkout() == REPO
    assert sv.find_binary() == str(REPO / ".build/release/solvable")


def test_reproduce(binary):
    figures = sv.reproduce(list=True)
    assert {"core-quadrature", "dmft-deep-tanh"} <= {f["name"] for f in figures}
    r = sv.reproduce("core-quadrature")
    assert r.command == "reproduce" and (r.out / "report.html").is_file()
    assert [f["name"] for f in r.manifest["figures"]] == ["core-quadrature"] and r.manifest["figures"][0]["passed"]


def test_bundled_catalog_matches_the_binary(binary):
    """The functions were made from the same commands, parameters and outputs that this binary declares."""
    live = json.loads(subprocess.run([binary, "schema", "--json"], capture_output=True, text=True, check=True).stdout)
    assert live == _catalog.catalog()
    doc = json.loads(subprocess.run([binary, "dmft", "solve", "--schema", "--json"], capture_output=True, text=True,
                                    check=True).stdout)
    assert doc == sv.schema("dmft solve")
