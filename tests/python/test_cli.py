"""The command line: what it accepts, and every command the README shows, run against the simulator."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import re
import shlex
import signal
import struct
import sys
from typing import TYPE_CHECKING

import pytest
from conftest import ROOT
from victron_gx_modbus import MAX_UNIT_ID, Simulator, _args, parse_unit_id, parse_unit_list
from victron_gx_modbus.cli import main, parser

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable
    from pathlib import Path

README = ROOT / "README.md"
CLI = [sys.executable, "-m", "victron_gx_modbus"]
# Interpreters the README may name before `-m victron_gx_modbus`.
README_PYTHONS = {"python", "python3", ".venv/bin/python"}
# Placeholders of a synopsis such as `simulate --scenario NAME [--port P]`.
# FP: a fingerprint the checks replace with the simulator's.
PLACEHOLDERS = {"NAME": "three-phase", "P": "0", "X": "5", "Y": "1", "PW": "s3cret", "FP": "AB" * 32}
DEMO = "single-phase-ess"  # the scenario of `scripts/develop`, which the README's examples talk to
UNBUFFERED = {**os.environ, "PYTHONUNBUFFERED": "1"}
TIMEOUT = 60.0
LIMITS = ["--phases", "single", "--ac-current", "25", "--dc-current", "100", "--battery", "lifepo4_16s"]
WRITE = ["write", "x", "227", "vebus", "mode", "3", "--ac-voltage", "230", *LIMITS]

# Home Assistant's test plugin blocks sockets; these tests talk to 127.0.0.1 and ::1 only.
pytestmark = pytest.mark.usefixtures("socket_enabled")


# What the command line accepts.


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.168.1.20", ("192.168.1.20", 502)),
        ("192.168.1.20:5020", ("192.168.1.20", 5020)),
        ("venus.local", ("venus.local", 502)),
        ("venus.local:1", ("venus.local", 1)),
        ("localhost:65535", ("localhost", 65535)),
        ("::1", ("::1", 502)),
        ("fe80::1", ("fe80::1", 502)),
        ("::1:502", ("::1:502", 502)),  # several colons: an IPv6 host, never HOST:PORT
        ("[::1]", ("::1", 502)),
        ("[::1]:5020", ("::1", 5020)),
        ("[fe80::1%eth0]:502", ("fe80::1%eth0", 502)),
    ],
)
def test_addresses_users_type_are_accepted(text: str, expected: tuple[str, int]) -> None:
    assert _args.address(text) == expected
    assert _args.address(_args.format_address(*expected)) == expected


def test_good_values_reach_the_commands() -> None:
    watch = parser().parse_args(["watch", "[::1]:5020", "--interval", "0.5", "--count", "3"])
    assert (watch.address, watch.interval, watch.count) == (("::1", 5020), 0.5, 3)
    scan = parser().parse_args(["scan", "venus.local", "--units", "100, 227,226"])
    assert (scan.address, scan.units) == (("venus.local", 502), [100, 227, 226])
    argv = ["simulate", "--host", "::1", "--port", "0", "--latency-ms", "0", "--jitter-ms", "60000"]
    simulate = parser().parse_args([*argv, "--scenario", "minimal"])
    assert (simulate.host, simulate.port, simulate.latency_ms, simulate.jitter_ms) == ("::1", 0, 0, 60000)
    assert parser().parse_args(["simulate", "--port", "65535"]).port == 65535


def test_a_scenario_file_is_accepted(tmp_path: Path) -> None:
    scenario = tmp_path / "site.json"
    scenario.write_text("{}")
    assert parser().parse_args(["simulate", "--scenario", str(scenario)]).scenario == str(scenario)


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["scan", "127.0.0.1:99999"], "'99999'"),
        (["scan", "127.0.0.1:0"], "'0'"),
        (["scan", "venus.local:"], "''"),
        (["scan", "venus.local:port"], "'port'"),
        (["scan", "venus.local:+502"], "'+502'"),
        (["scan", ":502"], "':502'"),
        (["scan", "two words"], "'two words'"),
        (["scan", "[::1"], "'[::1'"),
        (["scan", "[::1]502"], "'[::1]502'"),
        (["scan", "[::1]:"], "''"),
        (["scan", "[::1]:70000"], "'70000'"),
        (["scan", "[192.168.1.20]:502"], "'[192.168.1.20]:502'"),
        (["scan", "venus:local:502"], "'venus:local:502'"),
        (["scan", "x", "--units", "100,256"], "'100,256'"),
        (["scan", "x", "--units", "100,-1"], "'100,-1'"),
        (["scan", "x", "--units", ","], "','"),
        (["scan", "x", "--mode", "fast"], "'fast'"),
        (["scan"], "address"),
        (["watch", "x", "--interval", "-1"], "'-1'"),
        (["watch", "x", "--interval", "0"], "'0'"),
        (["watch", "x", "--interval", "nan"], "'nan'"),
        (["watch", "x", "--interval", "inf"], "'inf'"),
        (["watch", "x", "--interval", "soon"], "'soon'"),
        (["watch", "x", "--count", "0"], "'0'"),
        (["watch", "x", "--count", "1.5"], "'1.5'"),
        (["watch", "127.0.0.1:99999"], "'99999'"),
        (["simulate", "--port", "80000"], "'80000'"),
        (["simulate", "--port", "-1"], "'-1'"),
        (["simulate", "--latency-ms", "-1"], "'-1'"),
        (["simulate", "--latency-ms", "60001"], "'60001'"),
        (["simulate", "--jitter-ms", "inf"], "'inf'"),
        (["simulate", "--host", "venus.local"], "'venus.local'"),
        (["simulate", "--host", "fe80::1%eth0"], "'fe80::1%eth0'"),
        (["simulate", "--scenario", "nope"], "'nope'"),
        (["simulate", "--scenario", "missing.json"], "'missing.json'"),
        (["simulate", "--mqtt-tls-port", "70000"], "'70000'"),
        (["scan", "x", "--mqtt", "--mqtt-fingerprint", "AB:CD"], "'AB:CD'"),
        (["scan", "x", "--mqtt", "--mqtt-fingerprint", "AB" * 31 + "A:B"], "SHA-256"),
        (["scan", "x", "--mqtt", "--mqtt-tls-port", "0"], "'0'"),
        (["write", "x", "227", "vebus", "mode", "3"], "--ac-voltage"),
        ([*WRITE, "--ac-current", "0"], "'0'"),
        ([*WRITE, "--ac-voltage", "5"], "ac-voltage"),
        ([*WRITE, "--battery", "custom"], "battery"),
        (["write", "x", "256", "vebus", "mode", "3", *LIMITS], "'256'"),
        (["write", "x", "227", "vebus", "mode", "three", "--ac-voltage", "230", *LIMITS], "'three'"),
        (["frobnicate"], "'frobnicate'"),
        ([], "command"),
    ],
)
def test_a_bad_value_is_a_one_line_usage_error(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("victron_gx_modbus")
    assert "error:" in err
    assert named in err


@contextlib.asynccontextmanager
async def _cli(*argv: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """The CLI in a subprocess, stdout and stderr piped; killed if it still runs when the block ends."""
    process = await asyncio.create_subprocess_exec(
        *CLI, *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=UNBUFFERED
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.communicate()


def _exited(process: asyncio.subprocess.Process, err: bytes) -> str:
    """How a process ended, with the last lines of its stderr."""
    return f"exit code {process.returncode}: {err.decode().replace('\r', '\n').splitlines()[-5:]}"


async def _run(argv: list[str]) -> str:
    """The output of a CLI run that must exit 0."""
    async with _cli(*argv) as process:
        out, err = await process.communicate()
    assert process.returncode == 0, f"{argv}: {_exited(process, err)}"
    return out.decode()


async def _lines_until(process: asyncio.subprocess.Process, start: str) -> list[str]:
    """The lines a running CLI prints, up to and including one that starts with `start`."""
    assert process.stdout is not None
    lines: list[str] = []
    while not lines or not lines[-1].startswith(start):
        line = await process.stdout.readline()
        assert line, f"the process ended before printing {start!r}: {lines}"
        lines.append(line.decode())
    return lines


async def _interrupt(process: asyncio.subprocess.Process) -> str:
    """Ctrl-C a running CLI, which must then exit 0; the rest of its output."""
    process.send_signal(signal.SIGINT)
    out, err = await process.communicate()
    assert process.returncode == 0, _exited(process, err)
    return out.decode()


@pytest.mark.parametrize(("listen", "address"), [("::1", "[::1]:{port}"), ("127.0.0.1", "localhost:{port}")])
async def test_scan_reaches_a_gx_by_ipv6_or_by_name(listen: str, address: str) -> None:
    async with asyncio.timeout(TIMEOUT), Simulator("minimal", host=listen) as sim:
        result = json.loads(await _run(["scan", address.format(port=sim.port), "--units", "100", "--json"]))
    assert {device["unit"] for device in result["devices"]} == {100}


def _table_row(out: str, unit: int, service: str) -> dict[str, str]:
    """A row of the scan table by its column headings (the columns are aligned under them)."""
    lines = out.splitlines()
    header = lines[1]
    starts = [header.index(name) for name in header.split()]
    for line in lines[2:]:
        cells = [line[a:b].strip() for a, b in itertools.pairwise([*starts, len(line) + 1])]
        if cells[:2] == [str(unit), service]:
            return dict(zip(header.split(), cells, strict=True))
    msg = f"no row {unit}/{service} in {out}"
    raise AssertionError(msg)


async def test_the_scan_table_shows_each_product_and_its_firmware() -> None:
    async with asyncio.timeout(TIMEOUT), Simulator("three-phase", mqtt_port=0) as sim:
        address = _args.format_address(sim.host, sim.port)
        over_mqtt = await _run(["scan", address, "--mqtt", f":{sim.mqtt_port}", "--mqtt-no-tls"])
        over_modbus = await _run(["scan", address])
    lynx = _table_row(over_mqtt, 225, "battery")
    assert (lynx["name"], lynx["product"], lynx["id"]) == ("Lynx BMS", "Lynx Smart BMS 1000", "0xA3E6")
    assert (lynx["serial"], lynx["firmware"]) == ("HQ2238LS1TP", "v1.17")
    assert _table_row(over_mqtt, 227, "vebus")["firmware"] == "v506"
    # Over Modbus only the services with a product ID register name their product.
    evse = _table_row(over_modbus, 40, "evcharger")
    assert (evse["product"], evse["id"], evse["firmware"]) == (
        "EV Charge Station 32A",
        "0xC024",
        "v1.05-beta-03",
    )
    assert _table_row(over_modbus, 225, "battery")["product"] == ""


async def test_watch_reports_a_lost_gx_and_its_return() -> None:
    async with (
        asyncio.timeout(TIMEOUT),
        Simulator("minimal") as sim,
        _cli("watch", _args.format_address(sim.host, sim.port), "--interval", "0.1") as watch,
    ):
        assert len(await _lines_until(watch, "watching ")) == 1
        sim.reboot(0.5)
        seen = await _lines_until(watch, "GX reachable again")
        await _interrupt(watch)
    assert "GX unreachable; retrying\n" in seen


# Every command the README shows.


def _readme_commands() -> list[str]:
    """Each `python -m victron_gx_modbus ...` the README shows, in code blocks or inline code."""
    text = README.read_text(encoding="utf-8")
    fence = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
    lines = [line for block in fence.findall(text) for line in block.replace("\\\n", " ").splitlines()]
    lines += [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", fence.sub("", text))]
    commands = [
        " ".join(re.sub(r"\s#.*", "", line).split()) for line in lines if "-m victron_gx_modbus" in line
    ]
    return list(dict.fromkeys(commands))


README_COMMANDS = _readme_commands()


def _argv(command: str) -> list[str]:
    """The CLI arguments of a README command; a synopsis' options and placeholders are filled in."""
    tokens = shlex.split(re.sub(r"\[(-[^\]]*)\]", r"\1", command))  # `[--port P]` -> `--port P`
    assert tokens[0] in README_PYTHONS, f"the README runs the CLI with an unknown interpreter: {command}"
    assert tokens[1:3] == ["-m", "victron_gx_modbus"], command
    for index, token in enumerate(tokens):
        if re.fullmatch(r"[A-Z]+", token):
            assert token in PLACEHOLDERS, f"no value for the README's placeholder {token} in this test"
            tokens[index] = PLACEHOLDERS[token]
    return tokens[3:]


def _parse(argv: list[str]) -> argparse.Namespace:
    try:
        return parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"the README shows a command the CLI rejects: {argv}")


def _at(sim: Simulator, argv: list[str]) -> list[str]:
    """`argv` with its GX address (the one positional argument) replaced by the simulator's."""
    wanted = _parse(argv).address
    for index, token in enumerate(argv[1:], start=1):
        with contextlib.suppress(argparse.ArgumentTypeError):
            if _args.address(token) == wanted:
                return [*argv[:index], _args.format_address(sim.host, sim.port), *argv[index + 1 :]]
    pytest.fail(f"no GX address in {argv}")


async def _check_ledger(args: argparse.Namespace, argv: list[str]) -> None:
    out = await _run(argv)
    if args.json:
        services = json.loads(out)
        assert "system" in services
        assert all(service["registers"] for service in services.values())
        return
    *rows, total = out.splitlines()[1:]
    found = re.fullmatch(r"(\d+) registers in (\d+) service types", total)
    assert found, total
    assert int(found[1]) == len(rows) > 0
    assert int(found[2]) == len({row.split()[0] for row in rows})


def _with_mqtt(sim: Simulator, argv: list[str], target: str) -> list[str]:
    """`argv` with its `--mqtt [HOST[:PORT]]` pointed at the simulator's MQTT faces (and certificate)."""
    index = argv.index("--mqtt")
    rest = argv[index + 1 :]
    if target and rest and rest[0] == target:
        rest = rest[1:]
    if "--mqtt-fingerprint" in rest:
        at = rest.index("--mqtt-fingerprint") + 1
        rest[at] = sim.mqtt_fingerprint or ""
    tls = ["--mqtt-no-tls"] if sim.mqtt_tls_port is None else ["--mqtt-tls-port", str(sim.mqtt_tls_port)]
    return [*argv[:index], *rest, "--mqtt", f"{sim.host}:{sim.mqtt_port}", *tls]


async def _check_scan(args: argparse.Namespace, argv: list[str]) -> None:
    mqtt_port = None if args.mqtt is None else 0
    tls_port = 0 if args.mqtt_fingerprint is not None else None
    async with Simulator(
        DEMO, mqtt_port=mqtt_port, mqtt_password=args.mqtt_password, mqtt_tls_port=tls_port
    ) as sim:
        devices = len(await sim.devices())
        run = _at(sim, argv)
        if args.mqtt is not None:
            run = _with_mqtt(sim, run, args.mqtt)
        out = await _run(run)
    if args.json:
        result = json.loads(out)
        mode = "mqtt" if args.mqtt is not None else "units" if args.units else args.mode
        assert result["mode"] == mode
        assert result["discovery"]["used"] == mode
        if args.mqtt is not None:
            assert result["stats"]["failed_requests"] == 0
            assert result["discovery"]["phases"][0]["failed_requests"] == 0
        if args.background:
            phases = [phase["name"] for phase in result["discovery"]["phases"]]
            assert phases[-1] == "background", phases
            assert result["discovery"]["phases"][-1]["requests"] > 0
        units = [device["unit"] for device in result["devices"]]
    else:
        lines = out.splitlines()
        phase = r"\d+ devices, \d+ requests, \d+ failed, \d+ ms"
        if args.background:
            assert re.fullmatch(f"background: {phase}", lines.pop()), out
        if args.mqtt is not None:
            assert re.fullmatch(r"mqtt: \d+ devices, \d+ requests, 0 failed, \d+ ms", lines.pop()), out
        if args.mqtt_fingerprint is not None:
            assert re.fullmatch(
                r"MQTT over TLS, certificate SHA-256 fingerprint [0-9A-F:]{95}", lines.pop()
            ), out
        elif args.background:
            assert re.fullmatch(f"{args.mode}: {phase}", lines.pop()), out
        assert lines[0].startswith("GX serial ")
        assert re.match(rf"{len(lines) - 3} devices; \d+ probes", lines[-1]), lines[-1]
        units = [int(line.split()[0]) for line in lines[2:-1]]
    if args.units:
        assert units
        # Unit 100 in a list reaches a device of instance 0, reported at unit 0.
        assert set(units) <= set(args.units) | ({0} if 100 in args.units else set())
    else:
        assert len(units) == devices


async def _check_watch(args: argparse.Namespace, argv: list[str]) -> None:
    polls = ["--count", "2"] if args.count is None else []
    if args.json:
        await _check_watch_json([*argv, *polls])
        return
    async with Simulator(DEMO) as sim:
        devices = len(await sim.devices())
        heading, *values = (await _run([*_at(sim, argv), *polls])).splitlines()
    found = re.fullmatch(r"watching (\d+) registers of (\d+) devices \(Ctrl-C to stop\)", heading)
    assert found, heading
    assert int(found[2]) == devices
    assert len(values) >= int(found[1]) > 0  # the first poll shows every register
    assert all(re.fullmatch(r"\d+/\w+/\w+ .*", line) for line in values), values


async def _check_watch_json(argv: list[str]) -> None:
    """The output of watch --json: one JSON object per poll; the first shows every register."""
    async with Simulator(DEMO) as sim:
        lines = (await _run(_at(sim, argv))).splitlines()
    polls = [json.loads(line) for line in lines]
    assert [p["poll"] for p in polls] == list(range(1, len(polls) + 1))
    assert len(polls) >= 2
    assert not any(p["connection_lost"] for p in polls)
    assert len(polls[0]["changed"]) > 100
    assert all(re.fullmatch(r"\d+/\w+/\w+", key) for key in polls[0]["changed"])


async def test_scan_shows_the_fingerprint_then_trusts_it() -> None:
    async with asyncio.timeout(TIMEOUT), Simulator(DEMO, mqtt_port=0, mqtt_tls_port=0) as sim:
        base = ["scan", f"{sim.host}:{sim.port}", "--mqtt", f"{sim.host}:{sim.mqtt_port}"]
        base += ["--mqtt-tls-port", str(sim.mqtt_tls_port)]
        shown = sim.mqtt_fingerprint
        assert shown is not None
        async with _cli(*base) as first:
            out, err = await first.communicate()
        trusted = await _run([*base, "--mqtt-fingerprint", shown.replace(":", "").lower()])
        rotated = sim.rotate_mqtt_certificate()
        async with _cli(*base, "--mqtt-fingerprint", shown) as changed:
            changed_out, changed_err = await changed.communicate()
    assert first.returncode == 0
    assert f"--mqtt-fingerprint {shown}" in err.decode()
    assert "fell back to the quick scan" in err.decode()
    assert out.decode().splitlines()[-1].startswith("quick: ")
    assert f"MQTT over TLS, certificate SHA-256 fingerprint {shown}" in trusted
    assert trusted.splitlines()[-1].startswith("mqtt: ")
    assert changed.returncode == 1
    assert changed_out == b""
    assert f"certificate changed: SHA-256 fingerprint {rotated}, trusted {shown}" in changed_err.decode()


async def test_piped_scan_progress_is_plain_lines() -> None:
    async with Simulator(DEMO) as sim, _cli("scan", f"{sim.host}:{sim.port}") as process:
        _, err = await process.communicate()
    assert process.returncode == 0
    text = err.decode()
    assert "\r" not in text, "no progress bar redrawn into a pipe"
    phases = [line.split()[1] for line in text.splitlines() if line.startswith("scan: ")]
    assert phases[0] == "probing", phases
    assert phases[-1] == "done", phases
    assert set(phases) == {"probing", "validating", "done"}, phases
    assert all(a != b for a, b in itertools.pairwise(phases)), "one line per phase change, not per step"


async def test_a_refused_write_exits_1_and_sends_nothing() -> None:
    async with asyncio.timeout(TIMEOUT), Simulator(DEMO) as sim:
        address = _args.format_address(sim.host, sim.port)
        argv = ["write", address, "227", "vebus", "hub4_l1_ac_power_setpoint", "-35000", "--ac-voltage"]
        async with _cli(*argv, "230", *LIMITS) as process:
            out, err = await process.communicate()
        assert sim.stats()["requests"] == 0
    assert process.returncode == 1
    assert out == b""
    assert "-5750" in err.decode()


async def test_simulate_prints_its_write_log_on_exit() -> None:
    async with asyncio.timeout(TIMEOUT), _cli("simulate", "--port", "0") as simulator:
        started = await _lines_until(simulator, "Ctrl-C to stop.")
        address = next(line for line in started if " listening on " in line).split()[-1]
        argv = ["write", address, "227", "vebus", "hub4_l1_ac_power_setpoint", "-1200", "--ac-voltage", "230"]
        await _run([*argv, *LIMITS])
        out = await _interrupt(simulator)
    assert "write log (last 1):" in out
    assert "multi/hub4_l1_ac_power_setpoint @96: words [FFFF FB50] -> -1200.0" in out


async def _check_simulate(args: argparse.Namespace, argv: list[str]) -> None:
    async with _cli(*argv, "--port", "0") as simulator:
        started = await _lines_until(simulator, "Ctrl-C to stop.")
        heading = next(line for line in started if " listening on " in line)
        if args.mqtt_port is not None:
            assert any(line.startswith("GX MQTT ") for line in started), started
        if args.mqtt_tls_port is not None:
            assert any(line.startswith("GX MQTT over TLS on ") for line in started), started
            assert any(
                re.fullmatch(r"  certificate SHA-256 fingerprint [0-9A-F:]{95}\n", line) for line in started
            )
        assert any(line.startswith("  unit ") for line in started), started
        reader, writer = await asyncio.open_connection(*_args.address(heading.split()[-1]))
        writer.write(struct.pack(">HHHBBHH", 1, 0, 6, 100, 3, 800, 6))  # unit 100: the GX's serial
        reply = await reader.readexactly(21)
        writer.close()
        await writer.wait_closed()
        out = await _interrupt(simulator)
    assert reply[:9] == struct.pack(">HHHBBB", 1, 0, 15, 100, 3, 12)
    assert "requests: 1 (FC3: 1)" in out
    assert "exception replies: 0 (none)" in out


async def _check_write(args: argparse.Namespace, argv: list[str]) -> None:
    async with Simulator(DEMO) as sim:
        out = await _run(_at(sim, argv))
        log = sim.writes()
    name = f"{args.unit}/{args.service}/{args.key}"
    assert out.startswith(f"{name} = "), out
    assert "(allowed " in out
    written = [(entry["unit"], entry["key"], entry["value"]) for entry in log]
    assert written == [(args.unit, args.key, float(args.value))]


CHECKS: dict[str, Callable[[argparse.Namespace, list[str]], Awaitable[None]]] = {
    "ledger": _check_ledger,
    "scan": _check_scan,
    "watch": _check_watch,
    "simulate": _check_simulate,
    "write": _check_write,
}


def test_the_readme_shows_every_command() -> None:
    shown = {_parse(_argv(command)).command for command in README_COMMANDS}
    subcommands = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert shown == set(subcommands.choices)


@pytest.mark.parametrize("command", README_COMMANDS)
async def test_a_readme_command_runs(command: str) -> None:
    argv = _argv(command)
    args = _parse(argv)
    check = CHECKS.get(args.command)
    assert check is not None, f"this test does not know how to check the README's {command}"
    async with asyncio.timeout(TIMEOUT):
        await check(args, argv)


def test_the_cli_and_the_flows_read_unit_ids_alike() -> None:
    assert parse_unit_list("100, 227;226 227") == [100, 227, 226]
    assert parse_unit_list("  ") == []
    assert parse_unit_id(" 247 ") == MAX_UNIT_ID == 247
    for bad in ("248", "-1", "1.5", "²", "x"):
        with pytest.raises(ValueError, match="unit ID"):
            parse_unit_id(bad)
        with pytest.raises(ValueError, match=re.escape(repr(f"100, {bad}"))):
            parse_unit_list(f"100, {bad}")
    assert parser().parse_args(["scan", "x", "--units", "247"]).units == [247]
