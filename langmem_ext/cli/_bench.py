"""``langmem-ext bench``: run every script in ``benchmarks/`` and plot their tables.

Each script writes its own section of ``docs/benchmarks.md`` (``benchmarks/_report.py``);
this command then draws one PNG per section that has a numeric table and writes the
``plots`` section linking them.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from langmem_ext.cli._common import CliError, console

SECTION = re.compile(r"<!-- BEGIN (?P<name>[\w.-]+) -->\n(?P<body>.*?)<!-- END (?P=name) -->", re.S)
NUMBER = re.compile(r"^\s*(-?\d+(?:\.\d+)?)")


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("bench", help="Run benchmarks/*.py and regenerate docs/benchmarks.md with plots.")
    parser.add_argument("--root", default=None, help="Project root (default: found from the cwd).")
    parser.add_argument("--only", action="append", default=[], help="Run only scripts whose name contains this.")
    parser.add_argument("--plots-only", action="store_true", help="Skip the scripts; redraw the plots.")
    parser.set_defaults(handler=_run)


def find_root(start: Path | None = None) -> Path:
    """The nearest directory above ``start`` holding ``benchmarks/`` and ``pyproject.toml``."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "benchmarks").is_dir() and (candidate / "pyproject.toml").exists():
            return candidate
    raise CliError(needs_source_tree(here))


def needs_source_tree(here: Path) -> str:
    """The one-line answer when ``bench`` runs outside a source tree: why, and how to get one.

    Example:
        >>> print(needs_source_tree(Path("/tmp")))
        No benchmarks/ above /tmp: ... `pip download --no-deps --no-binary :all: langmem-ext==... && tar xzf langmem_ext-....tar.gz && cd langmem_ext-... && make bench` ...
    """
    from langmem_ext import __version__ as version

    tree = f"langmem_ext-{version}"
    return (
        f"No benchmarks/ above {here}: `langmem-ext bench` runs a source tree's benchmarks/ and "
        f"rewrites its docs/benchmarks.md, which an installed package does not have; get the tree "
        f"with `pip download --no-deps --no-binary :all: langmem-ext=={version} && tar xzf "
        f"{tree}.tar.gz && cd {tree} && make bench` (or run from a git clone, or pass --root)."
    )


def scripts(root: Path, only: list[str] | None = None) -> list[Path]:
    """The benchmark scripts: ``benchmarks/*.py`` not starting with ``_``."""
    found = sorted(p for p in (root / "benchmarks").glob("*.py") if not p.name.startswith("_"))
    return [p for p in found if not only or any(o in p.name for o in only)]


def parse_tables(markdown: str) -> dict[str, tuple[list[str], list[list[str]]]]:
    """The first Markdown table of each ``<!-- BEGIN name -->`` section.

    Example:
        >>> doc = "<!-- BEGIN x -->\\n| op | ms |\\n|---|---|\\n| put | 1.5 |\\n<!-- END x -->"
        >>> parse_tables(doc)
        {'x': (['op', 'ms'], [['put', '1.5']])}
    """
    out = {}
    for match in SECTION.finditer(markdown):
        rows = [line.strip() for line in match["body"].splitlines() if line.strip().startswith("|")]
        if len(rows) < 3:
            continue
        cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
        out[match["name"]] = (cells[0], [r for r in cells[2:] if len(r) == len(cells[0])])
    return out


def _number(cell: str) -> float | None:
    found = NUMBER.match(cell.replace(",", "").replace("**", ""))
    return float(found.group(1)) if found else None


def plot_section(name: str, headers: list[str], rows: list[list[str]], out_dir: Path) -> Path | None:
    """A grouped bar chart of the numeric columns of one table; ``None`` if it has none."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    numeric = [j for j in range(1, len(headers)) if rows and all(_number(r[j]) is not None for r in rows)]
    if not numeric or not rows:
        return None
    ratios = [j for j in numeric if any(w in headers[j].lower() for w in (" / ", "ratio", "speed-up", "vs "))]
    numeric = ([j for j in numeric if j not in ratios] or numeric)[:4]  # one unit per chart
    labels = [r[0].replace("`", "")[:40] for r in rows[:20]]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(labels) + 1.5))
    height = 0.8 / len(numeric)
    values_all = []
    for k, j in enumerate(numeric):
        values = [_number(r[j]) or 0.0 for r in rows[:20]]
        values_all += [v for v in values if v > 0]
        ax.barh([i + k * height for i in range(len(labels))], values, height=height, label=headers[j])
    if values_all and max(values_all) / min(values_all) > 100:
        ax.set_xscale("log")
    ax.set_yticks([i + height * (len(numeric) - 1) / 2 for i in range(len(labels))], labels)
    ax.invert_yaxis()
    ax.set_title(name)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"bench_{name}.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def write_plots(root: Path) -> list[Path]:
    """Draw every section's plot and write the ``plots`` section of docs/benchmarks.md."""
    doc = root / "docs" / "benchmarks.md"
    if not doc.exists():
        raise CliError(f"{doc} does not exist yet: run the benchmark scripts first.")
    tables = parse_tables(doc.read_text())
    tables.pop("plots", None)
    paths = [p for name, (h, r) in tables.items() if (p := plot_section(name, h, r, doc.parent / "img"))]
    sys.path.insert(0, str(root))
    try:
        from benchmarks._report import write_section
    finally:
        sys.path.pop(0)
    lines = ["## Plots", "", "Drawn by `langmem-ext bench` from the tables above.", ""]
    lines += [f"![{p.stem}](img/{p.name})" for p in paths] or ["(no numeric tables yet)"]
    write_section("plots", "\n".join(lines), doc=doc)
    return paths


def _run(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    root = Path(args.root).resolve() if args.root else find_root()
    failed = []
    if not args.plots_only:
        todo = scripts(root, args.only)
        if not todo:
            raise CliError(f"No benchmark scripts in {root / 'benchmarks'}.")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])))
        with Progress(console=console()) as progress:
            task = progress.add_task("benchmarks", total=len(todo))
            for script in todo:
                progress.update(task, description=script.name)
                t0 = time.perf_counter()
                result = subprocess.run([sys.executable, str(script)], cwd=root, env=env, capture_output=True, text=True)
                took = time.perf_counter() - t0
                if result.returncode != 0:
                    failed.append(script.name)
                    progress.console.print(f"[red]✗ {script.name}[/] ({took:.0f} s)\n{result.stderr[-2000:]}")
                else:
                    progress.console.print(f"[green]✓ {script.name}[/] ({took:.0f} s)")
                progress.advance(task)
    paths = write_plots(root)
    console().print(f"Wrote {len(paths)} plot(s) and docs/benchmarks.md.")
    if failed:
        raise CliError(f"{len(failed)} benchmark(s) failed: {', '.join(failed)}.")
    return 0
