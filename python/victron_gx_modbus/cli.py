"""Command line of the core: ``python -m victron_gx_modbus COMMAND``."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys

from ._core import VictronError
from .ledger import Register, ledger
from .simulator import Simulator, SimulatorStats


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


def _format_stats(stats: SimulatorStats) -> str:
    codes = ", ".join(f"0x{int(code):02X}: {count}" for code, count in stats["exceptions_by_code"].items())
    functions = ", ".join(f"FC{code}: {count}" for code, count in stats["by_function"].items())
    lines = [
        f"requests: {stats['requests']} ({functions or 'none'})",
        f"exception replies: {stats['exceptions']} ({codes or 'none'})",
        f"connections: {stats['connections_accepted']} accepted, {stats['connections_rejected']} rejected",
        f"writes accepted: {stats['writes_total']}",
    ]
    lines += [
        f"  unit {unit:>3}: {counts['requests']} requests, {counts['exceptions']} exceptions"
        for unit, counts in stats["by_unit"].items()
    ]
    return "\n".join(lines)


async def _simulate(args: argparse.Namespace) -> int:
    simulator = Simulator(
        args.scenario,
        host=args.host,
        port=args.port,
        latency_ms=args.latency_ms,
        jitter_ms=args.jitter_ms,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with simulator:
        devices = await simulator.devices()
        print(f"GX simulator '{args.scenario}' listening on {simulator.host}:{simulator.port}")
        for device in devices:
            print(f"  unit {device['unit']!s:>4}  {device['service']:<13} {device['id']}")
        print("Ctrl-C to stop.", flush=True)
        await stop.wait()
        print(_format_stats(simulator.stats()))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="victron_gx_modbus", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    ledger_cmd = commands.add_parser("ledger", help="print the compiled register ledger")
    ledger_cmd.add_argument("--json", action="store_true", help="machine-readable output")
    sim_cmd = commands.add_parser("simulate", help="run a simulated GX device (Modbus TCP server)")
    sim_cmd.add_argument(
        "--scenario", default="single-phase-ess", help="bundled scenario name or a .json file"
    )
    sim_cmd.add_argument("--host", default="127.0.0.1", help="address to listen on")
    sim_cmd.add_argument("--port", type=int, default=5020, help="TCP port (0: any free port)")
    sim_cmd.add_argument("--latency-ms", type=float, default=0.0, help="network latency per request")
    sim_cmd.add_argument("--jitter-ms", type=float, default=0.0, help="extra random latency")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a command; returns the process exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "ledger":
            return _print_ledger(as_json=args.json)
        if args.command == "simulate":
            return asyncio.run(_simulate(args))
    except BrokenPipeError:
        return 0
    except VictronError as err:
        print(f"victron_gx_modbus: {err}", file=sys.stderr)
        return 1
    return 2
