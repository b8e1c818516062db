"""Command line: regenerate (or check) register_ledgers/ from official lists."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .errata import ERRATA_FILES, apply_errata
from .facts import ImportReport, collect_facts, service_type, type_words
from .ledger import ListPresence, build_service, load_ledger, render_service
from .revisions import FirstAppearance, read_versions
from .sources import SourceError, read_register_list

DEFAULT_LEDGER_DIR = Path(__file__).resolve().parents[2] / "register_ledgers"


def _presence(path: Path, report: ImportReport) -> ListPresence:
    source = read_register_list(path)
    facts = collect_facts(source, ImportReport())
    addresses = {(name, reg.address) for name, service in facts.items() for reg in service.registers}
    report.flagged.append(f"older list {source.label}: {len(addresses)} registers")
    return ListPresence(label=source.label, addresses=frozenset(addresses))


def _check_appearance(
    appearance: FirstAppearance, files: dict[str, dict[str, Any]], report: ImportReport
) -> None:
    """Report what the Document versions sheet dated, and what it names that the list lacks."""
    dated = [r for document in files.values() for r in document["registers"] if r["added_in"] is not None]
    listed = {
        r["address"] + offset
        for document in files.values()
        for r in document["registers"]
        for offset in range(type_words(r["type"]))
    }
    unknown = sorted(set(appearance.by_address) - listed)
    report.flagged.append(f"Document versions: {len(dated)} registers dated by the revision that added them")
    if unknown:
        report.flagged.append(f"Document versions: addresses not in the list: {unknown}")


def generate(current: Path, older: list[Path], ledger_dir: Path) -> tuple[dict[str, str], ImportReport]:
    """Ledger file texts (by file name) for a current list and older ones."""
    report = ImportReport()
    source = read_register_list(current)
    services = collect_facts(source, report)
    for name in ERRATA_FILES:
        apply_errata(services, ledger_dir / "errata" / name, report)
    presences = [_presence(path, report) for path in older]
    appearance = read_versions(current)
    existing = load_ledger(ledger_dir) if ledger_dir.is_dir() else {}
    documents = {
        name: build_service(name, facts, source.label, presences, existing.get(name), report, appearance)
        for name, facts in sorted(services.items())
    }
    _check_appearance(appearance, documents, report)
    files = {f"{name}.json": render_service(document) for name, document in documents.items()}
    for name in sorted(set(existing) - set(services)):
        report.flagged.append(f"service {name} is gone from the list: its ledger file would be removed")
    total = sum(len(f.registers) for f in services.values())
    report.flagged.append(f"{source.label}: {total} registers in {len(services)} service types")
    return files, report


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="import-register-list",
        description="Regenerate register_ledgers/ from Victron's Modbus TCP register list (.xlsx or .tsv).",
    )
    parser.add_argument("path", type=Path, help="the current official list")
    parser.add_argument(
        "--older", type=Path, nargs="*", default=[], help="older lists, oldest first (for 'since')"
    )
    parser.add_argument("--ledger-dir", type=Path, default=DEFAULT_LEDGER_DIR)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the ledger differs")
    parser.add_argument("--quiet", action="store_true", help="do not print the import report")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the importer; 0 on success, 1 when --check finds a difference, 2 on bad input."""
    args = _parser().parse_args(argv)
    try:
        files, report = generate(args.path, args.older, args.ledger_dir)
    except SourceError as err:
        print(f"import-register-list: {err}", file=sys.stderr)
        return 2
    if not args.quiet:
        for line in report.lines():
            print(line, file=sys.stderr)
    stale = sorted(
        name
        for name, text in files.items()
        if not (args.ledger_dir / name).is_file()
        or (args.ledger_dir / name).read_text(encoding="utf-8") != text
    )
    extra = (
        sorted(p.name for p in args.ledger_dir.glob("*.json") if p.name not in files)
        if args.ledger_dir.is_dir()
        else []
    )
    if args.check:
        for name in stale + extra:
            print(f"out of date: {args.ledger_dir / name}", file=sys.stderr)
        return 1 if stale or extra else 0
    args.ledger_dir.mkdir(parents=True, exist_ok=True)
    for name in stale:
        (args.ledger_dir / name).write_text(files[name], encoding="utf-8")
    for name in extra:
        (args.ledger_dir / name).unlink()
    print(f"wrote {len(stale)} and removed {len(extra)} ledger files in {args.ledger_dir}", file=sys.stderr)
    return 0


__all__ = ["main", "service_type"]
