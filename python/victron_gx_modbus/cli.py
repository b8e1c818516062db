"""Command line of the core: ``python -m victron_gx_modbus COMMAND``."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import signal
import sys
from typing import TYPE_CHECKING

from . import _args
from ._core import VictronError
from .client import Client, ScanProgress, ScanResult
from .ledger import Register, ledger
from .simulator import Simulator, SimulatorStats

if TYPE_CHECKING:
    import argparse


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
        address = _args.format_address(simulator.host, simulator.port)
        print(f"GX simulator '{args.scenario}' listening on {address}")
        for device in devices:
            print(f"  unit {device['unit']!s:>4}  {device['service']:<13} {device['id']}")
        print("Ctrl-C to stop.", flush=True)
        await stop.wait()
        print(_format_stats(simulator.stats()))
    return 0


def _show_progress(step: ScanProgress) -> None:
    width = 30
    filled = width * step["done"] // max(step["total"], 1)
    bar = "#" * filled + "-" * (width - filled)
    line = f"\r{step['phase']:<10} [{bar}] {step['done']}/{step['total']}  found {step['found']}"
    sys.stderr.write(line)
    if step["phase"] == "done":
        sys.stderr.write("\n")
    sys.stderr.flush()


def _scan_table(result: ScanResult) -> str:
    gx = result["gx"]
    lines = [
        f"GX serial {gx['serial'] or '?'}, firmware {gx['firmware'] or '?'}",
        f"{'unit':>4}  {'service':<13} {'name':<24} {'product':>7} {'serial':<14} {'firmware':<9} registers",
    ]
    for device in result["devices"]:
        product = f"{device['product_id']:#06x}" if device["product_id"] else ""
        lines.append(
            f"{device['unit']:>4}  {device['service']:<13} {device['name'] or '':<24} {product:>7} "
            f"{device['serial'] or '':<14} {device['firmware'] or '':<9} {device['registers']}"
        )
    stats = result["stats"]
    lines.append(
        f"{len(result['devices'])} devices; {stats['probes']} probes, {stats['requests']} requests, "
        f"{stats['failed_requests']} failed at the GX, {stats['duration_ms']:.0f} ms"
    )
    return "\n".join(lines)


async def _scan(args: argparse.Namespace) -> int:
    host, port = args.address
    async with Client(host, port) as client:
        result = await client.scan(
            mode=args.mode,
            unit_ids=args.units,
            progress=None if args.json else _show_progress,
        )
    if args.json:
        json.dump(result, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(_scan_table(result))
    return 0


async def _stopped_within(stop: asyncio.Event, seconds: float) -> bool:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    return stop.is_set()


async def _watch(args: argparse.Namespace) -> int:
    host, port = args.address
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with Client(host, port) as client:
        result = await client.scan(progress=_show_progress)
        count = len(client.registers)
        print(f"watching {count} registers of {len(result['devices'])} devices (Ctrl-C to stop)")
        lost = False
        for polls in itertools.count(1):
            snapshot = await client.poll()
            if snapshot["connection_lost"] != lost:
                lost = snapshot["connection_lost"]
                print("GX unreachable; retrying" if lost else "GX reachable again")
            for key in snapshot["changed"]:
                value = snapshot["values"][key]
                shown = "unavailable" if key in snapshot["unavailable"] else value
                print(f"{key:<60} {shown}")
            if polls == args.count or await _stopped_within(stop, args.interval):
                break
    return 0


def parser() -> argparse.ArgumentParser:
    """The command line's parser; a bad value is a one-line usage error (exit 2)."""
    root = _args.ArgumentParser(prog="victron_gx_modbus", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    address_help = "HOST, HOST:PORT, [IPv6]:PORT or an IPv6 address (default port 502)"
    ledger_cmd = commands.add_parser("ledger", help="print the compiled register ledger")
    ledger_cmd.add_argument("--json", action="store_true", help="machine-readable output")
    sim_cmd = commands.add_parser("simulate", help="run a simulated GX device (Modbus TCP server)")
    sim_cmd.add_argument(
        "--scenario",
        type=_args.scenario,
        default="single-phase-ess",
        help="bundled scenario name or a .json file",
    )
    sim_cmd.add_argument(
        "--host", type=_args.listen_host, default="127.0.0.1", help="IP address to listen on"
    )
    sim_cmd.add_argument("--port", type=_args.listen_port, default=5020, help="TCP port (0: any free port)")
    sim_cmd.add_argument(
        "--latency-ms", type=_args.milliseconds, default=0.0, help="network latency per request"
    )
    sim_cmd.add_argument("--jitter-ms", type=_args.milliseconds, default=0.0, help="extra random latency")
    scan_cmd = commands.add_parser("scan", help="find the devices behind a GX")
    scan_cmd.add_argument("address", type=_args.address, help=address_help)
    scan_cmd.add_argument(
        "--mode", choices=["quick", "deep"], default="quick", help="likely pairs or everything"
    )
    scan_cmd.add_argument(
        "--units", type=_args.unit_list, help="probe exactly these unit IDs, e.g. 100,227,226"
    )
    scan_cmd.add_argument("--json", action="store_true", help="print the scan result as JSON")
    watch_cmd = commands.add_parser("watch", help="scan a GX, then print values as they change")
    watch_cmd.add_argument("address", type=_args.address, help=address_help)
    watch_cmd.add_argument("--interval", type=_args.seconds, default=2.0, help="seconds between polls")
    watch_cmd.add_argument("--count", type=_args.count, help="stop after this many polls")
    return root


def main(argv: list[str] | None = None) -> int:
    """Run a command; returns the process exit code."""
    args = parser().parse_args(argv)
    commands = {"simulate": _simulate, "scan": _scan, "watch": _watch}
    try:
        if args.command == "ledger":
            return _print_ledger(as_json=args.json)
        return asyncio.run(commands[args.command](args))
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
    except VictronError as err:
        print(f"victron_gx_modbus: {err}", file=sys.stderr)
        return 1
