"""The READMEs' Python examples run as written (in a scratch directory, one namespace per README, in order)."""

import re

import pytest

from conftest import REPO


def python_blocks(readme):
    return re.findall(r"```python\n(.*?)```", readme.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.parametrize("readme", ["README.md", "python/README.md"])
def test_readme_python_examples_run(binary, readme, tmp_path, monkeypatch):
    blocks = python_blocks(REPO / readme)
    assert blocks, "%s has no ```python block" % readme
    pytest.importorskip("pandas")
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__readme__"}
    for k, code in enumerate(blocks):
        exec(compile(code, "%s python block %d" % (readme, k + 1), "exec"), namespace)
