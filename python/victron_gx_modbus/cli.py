"""Command line of the core: ``python -m victron_gx_modbus COMMAND``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import signal
import sys
import time
from typing import TYPE_CHECKING

from . import _args
from ._core import Limits, VictronError
from .client import Client, FoundDevice, ScanProgress, ScanResult, register_id
from .errors import LimitsError
from .ledger import Register, ledger, ledger_register
from .mqtt import MqttOptions
from .simulator import Simulator, SimulatorStats, WriteLogEntry

if TYPE_CHECKING:
    from collections.abc import Callable

    from .client import Snapshot
    from .mqtt import Discovery, DiscoveryPhase

EXIT_CODES = """exit codes: 0 done; 1 the GX or the core reported an error (the message says which);
2 a usage error (a bad argument); 130 interrupted (Ctrl-C)"""


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


def _format_write(write: WriteLogEntry) -> str:
    shown = write["text"] if write["text"] is not None else write["value"]
    words = " ".join(f"{word:04X}" for word in write["words"])
    return (
        f"  unit {write['unit']:>3} {write['device']}/{write['key']} @{write['address']}: "
        f"words [{words}] -> {shown!r}"
    )


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
    if stats["writes"]:
        lines.append(f"write log (last {len(stats['writes'])}):")
        lines += [_format_write(write) for write in stats["writes"]]
    return "\n".join(lines)


async def _simulate(args: argparse.Namespace) -> int:
    simulator = Simulator(
        args.scenario,
        host=args.host,
        port=args.port,
        latency_ms=args.latency_ms,
        jitter_ms=args.jitter_ms,
        mqtt_port=args.mqtt_port,
        mqtt_password=args.mqtt_password,
        mqtt_tls_port=args.mqtt_tls_port,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with simulator:
        devices = await simulator.devices()
        address = _args.format_address(simulator.host, simulator.port)
        print(f"GX simulator '{args.scenario}' listening on {address}")
        secured = " (password required)" if args.mqtt_password else ""
        if simulator.mqtt_port is not None:
            mqtt = _args.format_address(simulator.host, simulator.mqtt_port)
            print(f"GX MQTT (service list for discovery) on {mqtt}{secured}")
        if simulator.mqtt_tls_port is not None:
            mqtt = _args.format_address(simulator.host, simulator.mqtt_tls_port)
            print(f"GX MQTT over TLS on {mqtt}{secured}")
            print(f"  certificate SHA-256 fingerprint {simulator.mqtt_fingerprint}")
        for device in devices:
            print(f"  unit {device['unit']!s:>4}  {device['service']:<13} {device['id']}")
        print("Ctrl-C to stop.", flush=True)
        await stop.wait()
        print(_format_stats(simulator.stats()))
    return 0


def _draw_progress(step: ScanProgress) -> None:
    """A progress bar redrawn in place (for a terminal)."""
    width = 30
    filled = width * step["done"] // max(step["total"], 1)
    bar = "#" * filled + "-" * (width - filled)
    line = f"\r{step['phase']:<10} [{bar}] {step['done']}/{step['total']}  found {step['found']}"
    sys.stderr.write(line)
    if step["phase"] == "done":
        sys.stderr.write("\n")
    sys.stderr.flush()


def _progress() -> Callable[[ScanProgress], None]:
    """Scan progress on stderr: a bar on a terminal, one plain line per phase when piped."""
    if sys.stderr.isatty():
        return _draw_progress
    phases: list[str] = []

    def plain(step: ScanProgress) -> None:
        if not phases or phases[-1] != step["phase"]:
            phases.append(step["phase"])
            print(
                f"scan: {step['phase']} ({step['done']}/{step['total']}, found {step['found']})",
                file=sys.stderr,
            )

    return plain


def _product_id(device: FoundDevice) -> str:
    """A product ID as the GX's device page shows it ("0xA3E5"); empty when unknown."""
    product_id = device["product_id"]
    return f"0x{product_id:04X}" if product_id else ""


def _scan_table(result: ScanResult) -> str:
    gx = result["gx"]
    header = ("unit", "service", "name", "product", "id", "serial", "firmware", "registers")
    rows = [
        (
            str(device["unit"]),
            device["service"],
            device["name"] or "",
            device.get("product_name") or "",
            _product_id(device),
            device["serial"] or "",
            device["firmware"] or "",
            str(device["registers"]),
        )
        for device in result["devices"]
    ]
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        cells = [
            cell.rjust(widths[0]) if column == 0 else cell.ljust(widths[column])
            for column, cell in enumerate(row)
        ]
        return "  ".join(cells).rstrip()

    lines = [f"GX serial {gx['serial'] or '?'}, firmware {gx['firmware'] or '?'}", line(header)]
    lines.extend(line(row) for row in rows)
    stats = result["stats"]
    lines.append(
        f"{len(result['devices'])} devices; {stats['probes']} probes, {stats['requests']} requests, "
        f"{stats['failed_requests']} failed at the GX, {stats['duration_ms']:.0f} ms"
    )
    return "\n".join(lines)


def _phases(discovery: Discovery) -> str:
    """One line per discovery phase (and the MQTT certificate the list came over TLS with)."""
    lines = []
    if discovery["fallback"] is None and "fingerprint" in discovery:
        lines.append(f"MQTT over TLS, certificate SHA-256 fingerprint {discovery['fingerprint']}")
    for phase in discovery["phases"]:
        if "error" in phase:
            lines.append(f"{phase['name']}: failed after {phase['duration_ms']:.0f} ms ({phase['error']})")
        else:
            lines.append(
                f"{phase['name']}: {phase['devices']} devices, {phase['requests']} requests, "
                f"{phase['failed_requests']} failed, {phase['duration_ms']:.0f} ms"
            )
    return "\n".join(lines)


async def _scan(args: argparse.Namespace) -> int:
    host, port = args.address
    mqtt = None
    if args.mqtt is not None:
        tls_port = None if args.mqtt_no_tls else args.mqtt_tls_port
        mqtt = MqttOptions.parse(
            args.mqtt, password=args.mqtt_password, tls_port=tls_port, fingerprint=args.mqtt_fingerprint
        )
    async with Client(host, port) as client:
        result = await client.scan(
            mode=args.mode,
            unit_ids=args.units,
            progress=None if args.json else _progress(),
            mqtt=mqtt,
        )
        if args.background:
            result = await _background(client, result, args.sweep_rate, quiet=args.json)
    discovery = result.get("discovery")
    if discovery is not None and discovery["fallback"] is not None:
        reason, used = discovery["fallback"], discovery["used"]
        print(f"scan: MQTT discovery failed ({reason}); fell back to the {used} scan", file=sys.stderr)
        if "fingerprint" in discovery:
            print(
                "scan: the GX's MQTT offers TLS with a self-signed certificate; if its SHA-256 "
                f"fingerprint is {discovery['fingerprint']} (compare it on the GX), scan again with "
                "--mqtt-fingerprint "
                f"{discovery['fingerprint']}",
                file=sys.stderr,
            )
    if args.json:
        json.dump(result, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(_scan_table(result))
        if discovery is not None and (mqtt is not None or args.background):
            print(_phases(discovery))
    return 0


async def _background(client: Client, result: ScanResult, rate: float, *, quiet: bool) -> ScanResult:
    """The background sweep after a scan: the merged result, its cost as phase `background`."""
    started = time.monotonic()
    swept = await client.sweep(result, rate=rate, progress=None if quiet else _progress())
    merged = swept["result"]
    phase: DiscoveryPhase = {
        "name": "background",
        "devices": len(swept["found"]),
        "requests": swept["stats"]["requests"],
        "failed_requests": swept["stats"]["failed_requests"],
        "duration_ms": (time.monotonic() - started) * 1000,
    }
    discovery = result.get("discovery")
    if discovery is not None:
        merged["discovery"] = {**discovery, "phases": [*discovery["phases"], phase]}
    return merged


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
        result = await client.scan(progress=None if args.json else _progress())
        count = len(client.registers)
        status = sys.stderr if args.json else sys.stdout
        print(f"watching {count} registers of {len(result['devices'])} devices (Ctrl-C to stop)", file=status)
        lost = False
        for polls in itertools.count(1):
            snapshot = await client.poll()
            if snapshot["connection_lost"] != lost:
                lost = snapshot["connection_lost"]
                print("GX unreachable; retrying" if lost else "GX reachable again", file=status)
            if args.json:
                _print_json_line(polls, snapshot)
            else:
                for key in snapshot["changed"]:
                    value = snapshot["values"][key]
                    shown = "unavailable" if key in snapshot["unavailable"] else value
                    print(f"{key:<60} {shown}")
            if polls == args.count or await _stopped_within(stop, args.interval):
                break
    return 0


def _print_json_line(poll: int, snapshot: Snapshot) -> None:
    """One poll as a JSON line: what changed (null: unavailable), and whether the GX was reachable."""
    unavailable = set(snapshot["unavailable"])
    changed = {key: None if key in unavailable else snapshot["values"][key] for key in snapshot["changed"]}
    line = {"poll": poll, "connection_lost": snapshot["connection_lost"], "changed": changed}
    print(json.dumps(line), flush=True)


def _limits(args: argparse.Namespace) -> Limits:
    """The limits the write command's flags give (validated by the core)."""
    return Limits(
        ac_voltage=args.ac_voltage,
        phases=args.phases,
        ac_current=args.ac_current,
        dc_current=args.dc_current,
        battery=args.battery,
        battery_min_voltage=args.battery_min_voltage,
        battery_max_voltage=args.battery_max_voltage,
        power_limit=args.power_limit,
        power_per_phase=not args.power_total,
    )


async def _write(args: argparse.Namespace) -> int:
    host, port = args.address
    async with Client(host, port, limits=args.limits) as client:
        minimum, maximum, step = client.write_range(args.unit, args.service, args.key)
        read_back = await client.write(args.unit, args.service, args.key, args.value)
    register = ledger_register(args.service, args.key)
    unit = (register["ha"]["unit"] if register else None) or ""
    name = register_id(args.unit, args.service, args.key)
    print(f"{name} = {read_back} {unit}".rstrip() + f"  (allowed {minimum:g} to {maximum:g}, step {step:g})")
    return 0


def _add_limit_flags(command: argparse.ArgumentParser) -> None:
    limits = command.add_argument_group("electrical limits (every write is checked against them)")
    limits.add_argument(
        "--ac-voltage", type=_args.positive, required=True, help="V per phase leg: 120, 208, 230, 240, ..."
    )
    limits.add_argument("--phases", choices=["single", "split", "three"], required=True)
    limits.add_argument("--ac-current", type=_args.positive, required=True, help="A per phase")
    limits.add_argument("--dc-current", type=_args.positive, required=True, help="A on the battery side")
    limits.add_argument(
        "--battery",
        choices=[
            "lifepo4_4s",
            "lifepo4_8s",
            "lifepo4_16s",
            "lead_acid_12v",
            "lead_acid_24v",
            "lead_acid_48v",
            "custom",
        ],
        required=True,
    )
    limits.add_argument("--battery-min-voltage", type=_args.positive, help="V, with --battery custom")
    limits.add_argument("--battery-max-voltage", type=_args.positive, help="V, with --battery custom")
    limits.add_argument("--power-limit", type=_args.positive, help="extra AC power limit, W per phase")
    limits.add_argument("--power-total", action="store_true", help="--power-limit is for all phases together")


def parser() -> argparse.ArgumentParser:
    """The command line's parser; a bad value is a one-line usage error (exit 2)."""
    root = _args.ArgumentParser(
        prog="victron_gx_modbus",
        description=__doc__,
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
    sim_cmd.add_argument(
        "--mqtt-port", type=_args.listen_port, help="also serve the GX's MQTT topics on this port (0: any)"
    )
    sim_cmd.add_argument(
        "--mqtt-tls-port",
        type=_args.listen_port,
        help="also serve them over TLS on this port (0: any), with a self-signed certificate made at start",
    )
    sim_cmd.add_argument(
        "--mqtt-password", help="password MQTT clients must send (with --mqtt-port/--mqtt-tls-port)"
    )
    scan_cmd = commands.add_parser("scan", help="find the devices behind a GX")
    scan_cmd.add_argument("address", type=_args.address, help=address_help)
    scan_cmd.add_argument(
        "--mode", choices=["quick", "deep"], default="quick", help="likely pairs or everything"
    )
    scan_cmd.add_argument(
        "--units", type=_args.unit_list, help="probe exactly these unit IDs, e.g. 100,227,226"
    )
    scan_cmd.add_argument(
        "--mqtt",
        nargs="?",
        const="",
        type=_args.mqtt_target,
        metavar="HOST[:PORT]",
        help="read the GX's service list over its MQTT first (default: the GX's host; TLS on 8883 when "
        "it answers, else plaintext on 1883 or PORT)",
    )
    scan_cmd.add_argument("--mqtt-password", help="the GX's password, when its MQTT asks for one")
    scan_cmd.add_argument(
        "--mqtt-fingerprint",
        type=_args.mqtt_fingerprint,
        help="SHA-256 fingerprint of the GX's MQTT certificate to trust (then TLS only; a scan without it "
        "prints it)",
    )
    scan_cmd.add_argument(
        "--mqtt-tls-port", type=_args.port, default=8883, help="the GX's MQTT over TLS port (default 8883)"
    )
    scan_cmd.add_argument(
        "--mqtt-no-tls", action="store_true", help="plaintext MQTT only, even where TLS is offered"
    )
    scan_cmd.add_argument(
        "--background",
        action="store_true",
        help="then sweep every type at units 0-63 and 204-247 not found, as Home Assistant does after set-up",
    )
    scan_cmd.add_argument(
        "--sweep-rate",
        type=_args.positive,
        default=5.0,
        help="requests per second of the background sweep (default 5)",
    )
    scan_cmd.add_argument("--json", action="store_true", help="print the scan result as JSON")
    watch_cmd = commands.add_parser("watch", help="scan a GX, then print values as they change")
    watch_cmd.add_argument("address", type=_args.address, help=address_help)
    watch_cmd.add_argument("--interval", type=_args.seconds, default=2.0, help="seconds between polls")
    watch_cmd.add_argument("--count", type=_args.count, help="stop after this many polls")
    watch_cmd.add_argument(
        "--json", action="store_true", help="one JSON line per poll: what changed (null: unavailable)"
    )
    write_cmd = commands.add_parser("write", help="write one register within electrical limits, read it back")
    write_cmd.add_argument("address", type=_args.address, help=address_help)
    write_cmd.add_argument("unit", type=_args.unit_id, help="unit ID, e.g. 227")
    write_cmd.add_argument("service", help="service type, e.g. vebus")
    write_cmd.add_argument("key", help="register key, e.g. hub4_l1_ac_power_setpoint")
    write_cmd.add_argument("value", help="a number, or text for a text register")
    _add_limit_flags(write_cmd)
    return root


def _parse(argv: list[str] | None) -> argparse.Namespace:
    """Parsed arguments; the write command's limits are built here, so that nonsense is a usage error."""
    root = parser()
    args = root.parse_args(argv)
    if args.command == "write":
        try:
            args.limits = _limits(args)
        except LimitsError as err:
            root.error(f"argument --{err.option.replace('_', '-')}: {err}")
        register = ledger_register(args.service, args.key)
        if register is not None and not register["type"].startswith("string"):
            try:
                args.value = _args.number(args.value)
            except argparse.ArgumentTypeError as err:
                root.error(f"argument value: {err}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run a command; returns the process exit code."""
    args = _parse(argv)
    commands = {"simulate": _simulate, "scan": _scan, "watch": _watch, "write": _write}
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
