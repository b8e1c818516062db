"""The simulator read by an independent Modbus client (pymodbus) over loopback."""

from __future__ import annotations

import asyncio
import gc
import socket
import struct
from typing import TYPE_CHECKING

import pytest
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.pdu import ExceptionResponse
from victron_gx_modbus import Simulator, SimulatorError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

DT = AsyncModbusTcpClient.DATATYPE
# Home Assistant's test plugin blocks sockets; these tests talk to 127.0.0.1 only.
pytestmark = pytest.mark.usefixtures("socket_enabled")


@pytest.fixture
async def ess() -> AsyncIterator[tuple[Simulator, AsyncModbusTcpClient]]:
    async with Simulator("single-phase-ess") as sim:
        client = AsyncModbusTcpClient(sim.host, port=sim.port, timeout=5, retries=0)
        await client.connect()
        yield sim, client
        client.close()


async def registers(client: AsyncModbusTcpClient, unit: int, address: int, count: int) -> list[int]:
    reply = await client.read_holding_registers(address, count=count, device_id=unit)
    assert not reply.isError(), reply
    return list(reply.registers)


async def exception_code(client: AsyncModbusTcpClient, unit: int, address: int, count: int) -> int:
    reply = await client.read_holding_registers(address, count=count, device_id=unit)
    assert isinstance(reply, ExceptionResponse), reply
    return int(reply.exception_code)


async def test_every_data_type_reads_as_the_scenario_says(
    ess: tuple[Simulator, AsyncModbusTcpClient],
) -> None:
    _, client = ess
    convert = client.convert_from_registers
    # uint16 and int16 settings at unit 100 (hub4 mode 1, AC power setpoint 50 W).
    assert convert(await registers(client, 100, 2902, 1), DT.UINT16) == 1
    assert convert(await registers(client, 100, 2700, 1), DT.INT16) == 50
    # int32 ESS setpoint and uint64 system time, high word first.
    assert convert(await registers(client, 227, 96, 2), DT.INT32) == 50
    assert convert(await registers(client, 100, 830, 4), DT.UINT64) == 1_795_000_000
    # Strings: Latin-1, two characters per register, NUL padded.
    serial = convert(await registers(client, 100, 800, 6), DT.STRING, string_encoding="latin-1")
    assert serial == "c0619ab1e2f4"
    name = convert(await registers(client, 227, 140, 8), DT.STRING, string_encoding="latin-1")
    assert isinstance(name, str)
    assert name.rstrip("\x00") == "Multi"
    # Scaled: tank capacity 0.2 m3 at scale 10000 (uint32).
    assert convert(await registers(client, 20, 3001, 2), DT.UINT32) == 2000
    # GX firmware v3.60 read as hex digits.
    assert await registers(client, 100, 834, 2) == [0x0360, 0]
    # A register with no value on the device reads 0; reserved blocks read 0xFFFF.
    assert await registers(client, 226, 283, 1) == [0]
    assert (await registers(client, 100, 826, 4))[1:] == [0xFFFF] * 3
    assert (await registers(client, 227, 120, 12))[2:10] == [0xFFFF] * 8


async def test_function_codes_3_and_4_read_the_same_map(ess: tuple[Simulator, AsyncModbusTcpClient]) -> None:
    _, client = ess
    holding = await client.read_holding_registers(2700, count=3, device_id=100)
    inputs = await client.read_input_registers(2700, count=3, device_id=100)
    assert holding.registers == inputs.registers


async def test_writes_with_fc6_and_fc16_including_32_bit(ess: tuple[Simulator, AsyncModbusTcpClient]) -> None:
    sim, client = ess
    reply = await client.write_register(22, 160, device_id=227)
    assert not reply.isError()
    assert await registers(client, 227, 22, 1) == [160]
    words = client.convert_to_registers(-1500, DT.INT32)
    reply = await client.write_registers(96, words, device_id=227)
    assert not reply.isError()
    assert client.convert_from_registers(await registers(client, 227, 96, 2), DT.INT32) == -1500
    log = sim.stats()["writes"]
    assert [(w["key"], w["value"]) for w in log] == [
        ("ac_active_in_current_limit", 16.0),
        ("hub4_l1_ac_power_setpoint", -1500.0),
    ]


async def test_each_exception_code(ess: tuple[Simulator, AsyncModbusTcpClient]) -> None:
    sim, client = ess
    coils = await client.read_coils(0, count=1, device_id=100)
    assert isinstance(coils, ExceptionResponse)
    assert coils.exception_code == 0x01
    assert await exception_code(client, 100, 0, 1) == 0x02
    assert await exception_code(client, 227, 145, 10) == 0x02
    # pymodbus refuses to send a count of 126 itself, so this one goes out raw.
    reader, writer = await asyncio.open_connection(sim.host, sim.port)
    writer.write(struct.pack(">HHHBBHH", 1, 0, 6, 100, 3, 840, 126))
    assert await reader.readexactly(9) == struct.pack(">HHHBBB", 1, 0, 3, 100, 0x83, 0x03)
    writer.close()
    assert await exception_code(client, 100, 259, 1) == 0x0A
    read_only = await client.write_register(3, 1, device_id=227)
    assert isinstance(read_only, ExceptionResponse)
    assert read_only.exception_code == 0x02
    stats = sim.stats()
    assert stats["exceptions"] == 6
    assert stats["exceptions_by_code"] == {"1": 1, "2": 3, "3": 1, "10": 1}


async def test_old_firmware_answers_0x0b() -> None:
    async with Simulator("old-firmware") as sim:
        client = AsyncModbusTcpClient(sim.host, port=sim.port, timeout=5, retries=0)
        await client.connect()
        assert await exception_code(client, 100, 259, 1) == 0x0B
        assert len(await registers(client, 246, 3, 3)) == 3
        client.close()


async def test_a_reboot_is_seen_as_a_lost_connection_then_recovers() -> None:
    async with Simulator("minimal") as sim:
        client = AsyncModbusTcpClient(sim.host, port=sim.port, timeout=1, retries=0, reconnect_delay=0.1)
        await client.connect()
        assert len(await registers(client, 100, 2700, 1)) == 1
        sim.reboot(0.5)
        with pytest.raises(Exception):  # noqa: B017, PT011 - pymodbus raises its ConnectionException
            await client.read_holding_registers(2700, count=1, device_id=100)
        client.close()
        for _ in range(40):
            client = AsyncModbusTcpClient(sim.host, port=sim.port, timeout=1, retries=0)
            if await client.connect():
                break
            await asyncio.sleep(0.1)
        assert len(await registers(client, 100, 2700, 1)) == 1
        client.close()


async def test_devices_and_presence_control() -> None:
    async with Simulator("single-phase-ess") as sim:
        devices = {device["id"]: device for device in await sim.devices()}
        assert devices["multi"]["unit"] == 227
        assert devices["water"]["service"] == "tank"
        await sim.set_present("water", present=False)
        assert not {d["id"]: d for d in await sim.devices()}["water"]["present"]
        with pytest.raises(SimulatorError, match="no device"):
            await sim.set_present("missing", present=False)


async def test_hold_changes_the_site_and_what_derives_from_it() -> None:
    async with Simulator("three-phase") as sim:
        client = AsyncModbusTcpClient(sim.host, port=sim.port, timeout=5, retries=0)
        await client.connect()
        await sim.hold("lynx", "soc", 15.0)
        assert await registers(client, 225, 266, 1) == [150], "the battery's SOC (scale 10)"
        assert await registers(client, 100, 843, 1) == [15], "the system's SOC follows it"
        await asyncio.sleep(0.3)  # the site steps on: a held value stays
        assert await registers(client, 225, 266, 1) == [150]
        client.close()
        with pytest.raises(SimulatorError, match="no device"):
            await sim.hold("missing", "soc", 1.0)
        with pytest.raises(SimulatorError, match='has no register "nothing"'):
            await sim.hold("lynx", "nothing", 1.0)
        with pytest.raises(SimulatorError, match="holds text"):
            await sim.hold("lynx", "custom_name", 1.0)
        with pytest.raises(SimulatorError, match="not a finite number"):
            await sim.hold("lynx", "soc", float("nan"))


async def test_bad_arguments_are_clear_errors() -> None:
    with pytest.raises(SimulatorError, match="no bundled scenario"):
        await Simulator("nope").start()
    with pytest.raises(SimulatorError, match="not an IP address"):
        await Simulator(host="localhost:1").start()
    with pytest.raises(SimulatorError, match="latency_ms"):
        await Simulator(latency_ms=-1).start()
    assert "large" in Simulator.scenarios()


async def test_a_simulator_dropped_without_stop_releases_its_port() -> None:
    sim = Simulator("minimal")
    await sim.start()
    port = sim.port
    del sim
    gc.collect()
    for _ in range(50):
        try:
            with socket.create_server(("127.0.0.1", port)):
                break
        except OSError:
            await asyncio.sleep(0.02)
    else:
        pytest.fail(f"port {port} is still taken")
