"""Rewrite an installed Home Assistant (and its dependencies) to import on Python 3.13.

    python -m ha_py313 <site-packages>

Every module of Home Assistant and of its test package gets every rewrite of
`rewrite.py`; any other installed module only the `except A, B:` one, and only when 3.13
cannot compile it. A stamp file makes a second run on the same tree a no-op.
It prints what it changed.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

from .rewrite import rewrite_module

STAMP = "ha-py313-rewritten"
FULL_REWRITE = ("homeassistant", "pytest_homeassistant_custom_component")
"""Packages written for 3.14 throughout (the others at most use its except clauses)."""
_BARE_EXCEPT = re.compile(r"^\s*except\*?\s+[^(\s:][^:\n]*,", re.MULTILINE)


def _needs_except_rewrite(path: Path, source: str) -> bool:
    """Whether 3.13 refuses a module outside Home Assistant for its except clauses."""
    if not _BARE_EXCEPT.search(source):
        return False
    try:
        compile(source, str(path), "exec", dont_inherit=True)
    except SyntaxError:
        return True
    return False


def rewrite_site_packages(site_packages: Path) -> Counter[str]:
    """Rewrite the tree; returns how many modules each kind of change touched."""
    counts: Counter[str] = Counter()
    if not (site_packages / "homeassistant").is_dir():
        msg = f"no homeassistant package in {site_packages}"
        raise SystemExit(msg)
    full = [site_packages / package for package in FULL_REWRITE]
    for path in sorted(site_packages.rglob("*.py")):
        in_core = any(path.is_relative_to(package) for package in full)
        source = path.read_text(encoding="utf-8")
        if not in_core and not _needs_except_rewrite(path, source):
            continue
        result = rewrite_module(source, add_future=in_core)
        if result.source == source:
            continue
        try:
            compile(result.source, str(path), "exec", dont_inherit=True)
        except SyntaxError as err:
            msg = f"{path}: still not Python 3.13 after the rewrite: {err}"
            raise SystemExit(msg) from err
        path.write_text(result.source, encoding="utf-8")
        counts["modules"] += 1
        for change in result.changes:
            counts[re.sub(r"\d+", "N", change)] += 1
    return counts


def main(argv: list[str]) -> int:
    """Rewrite the site-packages folder given, once."""
    if len(argv) != 1:
        print("usage: python -m ha_py313 <site-packages>", file=sys.stderr)
        return 2
    site_packages = Path(argv[0])
    stamp = site_packages / STAMP
    if stamp.exists():
        print(f"ha_py313: {site_packages} was rewritten already")
        return 0
    counts = rewrite_site_packages(site_packages)
    summary = ", ".join(f"{change}: {count}" for change, count in sorted(counts.items()))
    stamp.write_text(summary + "\n", encoding="utf-8")
    print(f"ha_py313: rewrote {site_packages}: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
