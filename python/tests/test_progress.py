"""The live progress line (issue 18): on a terminal one line on stderr, redrawn in place, with log lines printed
above it and never glued onto it; plain lines when piped; nothing with --quiet. The terminal is util-linux
`script` (a real pseudo-terminal); skipped, saying so, where it is missing."""

import re
import shutil
import subprocess

import pytest

SOLVE = ["dmft", "solve", "--activation", "tanh", "--depth", "2", "--points", "4", "--steps", "12",
         "--samples", "400", "--save-kernels", "false"]


def test_terminal_progress_line_is_never_glued_to_log_lines(binary, tmp_path):
    if shutil.which("script") is None:
        pytest.skip("util-linux `script` is not installed: no pseudo-terminal to test the live line on")
    cmd = " ".join([str(binary)] + SOLVE + ["--out", str(tmp_path / "out")])
    r = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, text=True, timeout=300,
                       env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    out = r.stdout
    assert "Monte Carlo DMFT: iteration" in out and "residual" in out and "ETA" in out, out[-2000:]
    # what the terminal shows: every \r\x1b[2K clears the line, so a glued line is progress text followed by a
    # log line's timestamp without a clear or newline between them
    assert not re.search(r"ETA [^\r\n\x1b]*\d{4}-\d{2}-\d{2}T", out), out[-2000:]
    shown = [visible(line) for line in out.split("\n")]
    assert not any(re.search(r"ETA .*\d{4}-\d{2}-\d{2}T", line) for line in shown), shown
    # the line is cleared before the results are printed on stdout
    assert any(line.startswith("dmft solve: status") for line in shown), shown


def visible(line):
    """What a terminal shows of one line: the text after the last carriage return, without escape codes."""
    line = line.rstrip("\r")   # the pseudo-terminal turns \n into \r\n
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", line.split("\r")[-1])


def test_piped_progress_is_plain_lines_and_quiet_is_silent(binary, tmp_path):
    r = subprocess.run([str(binary)] + SOLVE + ["--out", str(tmp_path / "a")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "\r" not in r.stderr and "\x1b[" not in r.stderr
    assert re.search(r"^Monte Carlo DMFT: iteration \d+/\d+ · residual", r.stderr, re.M), r.stderr
    q = subprocess.run([str(binary)] + SOLVE + ["--out", str(tmp_path / "b"), "--quiet"], capture_output=True, text=True, timeout=300)
    assert q.returncode == 0 and q.stderr == ""
