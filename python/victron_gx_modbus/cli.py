"""Command line of the core: ``python -m victron_gx_modbus COMMAND``."""

from __future__ import annotations

import argparse
import json
import sys

from .ledger import Register, ledger


def _register_row(service: str, register: Register) -> str:
    access = "rw" if register["writable"] else "r "
    unit = register["ha"]["unit"] or ""
    return (
        f"{service:<14} {register['address']:>5} {register['type']:<10} {register['scale']:>9g} "
        f"{access} {register['ha']['platform']:<13} {register['key']:<48} {unit}"
    )


def _print_ledger(*, as_json: bool) -> int:
    services = ledger()
    if as_json:
        json.dump(services, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return 0
    print(f"{'service':<14} {'addr':>5} {'type':<10} {'scale':>9} rw {'platform':<13} {'key':<48} unit")
    for name, service in services.items():
        for register in service["registers"]:
            print(_register_row(name, register))
    count = sum(len(service["registers"]) for service in services.values())
    print(f"{count} registers in {len(services)} service types")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="victron_gx_modbus", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    ledger_cmd = commands.add_parser("ledger", help="print the compiled register ledger")
    ledger_cmd.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a command; returns the process exit code."""
    args = _parser().parse_args(argv)
    if args.command == "ledger":
        try:
            return _print_ledger(as_json=args.json)
        except BrokenPipeError:
            return 0
    return 2
