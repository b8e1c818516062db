"""The generated result types describe what the core really returns: every key, its requiredness, its type."""

from __future__ import annotations

import math
import types
import typing
from typing import Any, Literal, NotRequired, TypeAliasType, is_typeddict

import pytest
from victron_gx_modbus import (
    Client,
    Limits,
    MqttOptions,
    Simulator,
    WriteRefused,
    _results,
    ledger,
    ledger_register,
)
from victron_gx_modbus._bridge import run
from victron_gx_modbus.client import Snapshot

# Home Assistant's test plugin blocks sockets; these tests talk to 127.0.0.1 only.
pytestmark = pytest.mark.usefixtures("socket_enabled")


def _mismatches(value: object, kind: Any, where: str) -> list[str]:  # noqa: PLR0911 - one return a kind
    """Where `value` does not have the type `kind` (empty when it does)."""
    if isinstance(kind, TypeAliasType):
        return _mismatches(value, kind.__value__, where)
    if is_typeddict(kind):
        return _dict_mismatches(value, kind, where)
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (types.UnionType, typing.Union):
        options = [_mismatches(value, option, where) for option in args]
        return [] if any(not found for found in options) else [f"{where}: {value!r} is not {kind}"]
    if origin is Literal:
        return [] if value in args else [f"{where}: {value!r} is not one of {args}"]
    if origin in (list, tuple, dict):
        return _container_mismatches(value, origin, args, where)
    if kind is None or kind is types.NoneType:
        return [] if value is None else [f"{where}: {value!r} is not None"]
    if kind in (int, float):  # JSON numbers: an int is a float too, a bool is neither
        numbers = int if kind is int else int | float
        ok = isinstance(value, numbers) and not isinstance(value, bool)
        return [] if ok else [f"{where}: {value!r} is not {'an int' if kind is int else 'a number'}"]
    return [] if isinstance(value, kind) else [f"{where}: {value!r} is not {kind.__name__}"]


def _container_mismatches(value: object, origin: type, args: tuple[Any, ...], where: str) -> list[str]:
    """Where a list, tuple (a JSON array of fixed length) or dict does not hold what `args` say."""
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{where}: {value!r} is not a dict"]
        return [m for key, item in value.items() for m in _mismatches(item, args[1], f"{where}[{key!r}]")]
    if origin is tuple:
        if not isinstance(value, list | tuple) or len(value) != len(args):
            return [f"{where}: {value!r} is not a {len(args)}-tuple"]
        return [m for v, k in zip(value, args, strict=True) for m in _mismatches(v, k, where)]
    if not isinstance(value, list):
        return [f"{where}: {value!r} is not a list"]
    return [m for i, item in enumerate(value) for m in _mismatches(item, args[0], f"{where}[{i}]")]


def _dict_mismatches(value: object, kind: Any, where: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where}: {value!r} is not a {kind.__name__}"]
    hints = typing.get_type_hints(kind, include_extras=True)
    found = [f"{where}: {key!r} is not a key of {kind.__name__}" for key in value if key not in hints]
    for key, hint in hints.items():
        optional = typing.get_origin(hint) is NotRequired
        if key not in value:
            if not optional:
                found.append(f"{where}: {kind.__name__} lacks {key!r}")
            continue
        inner = typing.get_args(hint)[0] if optional else hint
        found += _mismatches(value[key], inner, f"{where}.{key}")
    return found


def _check(value: object, kind: object) -> None:
    assert _mismatches(value, kind, typing.cast("Any", kind).__name__) == []


def test_the_checker_finds_what_differs() -> None:
    device = {"unit": 1, "service": "battery", "registers": 3, "unsupported": []}
    assert _mismatches(device, _results.FoundDevice, "d") == [
        "d: FoundDevice lacks 'firmware'",
        "d: FoundDevice lacks 'name'",
        "d: FoundDevice lacks 'product_id'",
        "d: FoundDevice lacks 'serial'",
    ]
    block = {"start": 1, "count": 2, "words": [1, None, "x"], "extra": True}
    assert _mismatches(block, _results.DumpedBlock, "b") == [
        "b: 'extra' is not a key of DumpedBlock",
        "b.words[2]: 'x' is not int | None",
    ]
    progress = {"phase": "sleeping", "done": 1.5, "total": 2, "found": 0}
    assert _mismatches(progress, _results.ScanProgress, "p") == [
        "p.done: 1.5 is not an int",
        "p.phase: 'sleeping' is not one of ('probing', 'validating', 'sweeping', 'waiting', 'done')",
    ]


async def test_every_result_the_client_returns_has_its_generated_type() -> None:
    limits = Limits(ac_voltage=230, phases="three", ac_current=25, dc_current=100, battery="lifepo4_16s")
    async with (
        Simulator("three-phase", service_time_ms=0, mqtt_port=0, mqtt_tls_port=0) as sim,
        Client(sim.host, sim.port, max_rate=0, limits=limits) as gx,
    ):
        assert sim.mqtt_port
        assert sim.mqtt_tls_port
        plaintext = MqttOptions(port=sim.mqtt_port, tls_port=None)
        steps: list[object] = []
        _check(await gx.identify(), _results.GxIdentity)
        quick = await gx.scan(progress=steps.append)
        _check(quick, _results.ScanResult)
        _check(await gx.scan(mqtt=plaintext), _results.ScanResult)
        untrusted = MqttOptions(port=sim.mqtt_port, tls_port=sim.mqtt_tls_port)
        fallen_back = await gx.scan(mqtt=untrusted)
        assert "fingerprint" in fallen_back["discovery"]
        _check(fallen_back, _results.ScanResult)
        check = await gx.mqtt_check(plaintext)
        assert "services" in check
        _check(check, _results.MqttCheck)
        _check(await gx.mqtt_check(untrusted), _results.MqttCheck)
        pinned = MqttOptions(port=sim.mqtt_port, tls_port=sim.mqtt_tls_port, fingerprint=sim.mqtt_fingerprint)
        _check(await gx.mqtt_check(pinned), _results.MqttCheck)
        _check(await gx.mqtt_check(MqttOptions(port=1, tls_port=None)), _results.MqttCheck)
        _check(await gx.scan_listed(check, progress=steps.append), _results.ScanResult)
        _check(await gx.search(quick, "solarcharger", rate=math.inf, failed_budget=2), _results.SweepResult)
        await gx.use_scan(quick)
        _check(gx.registers, list[_results.PlannedRegister])
        _check(await gx.poll(), Snapshot)
        _check(await run(gx._core.poll), _results.PollOutput)
        _check(await gx.raw_dump(redact=["serial"]), list[_results.DumpedDevice])
        infos = []
        for register in gx.registers:
            facts = ledger_register(register["service"], register["key"])
            if facts is not None and facts["writable"]:
                try:
                    infos.append(gx.write_info(register["unit"], register["service"], register["key"]))
                except WriteRefused:
                    continue
        assert infos
        _check(infos, list[_results.WriteInfo])
        _check(gx.metrics(), _results.Metrics)
        _check(steps, list[_results.ScanProgress])
        _check(sim.stats(), _results.SimulatorStats)
        _check(await sim.devices(), list[_results.SimulatedDevice])


def test_the_ledger_and_a_site_history_have_their_generated_types() -> None:
    _check(list(ledger().values()), list[_results.Service])
    history = Simulator.history("three-phase", seconds=3600, step_seconds=60, bucket_seconds=600)
    assert history["series"]
    _check(history, _results.SiteHistory)
