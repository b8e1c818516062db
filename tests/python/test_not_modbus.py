"""Something other than a GX's Modbus server on the port is a protocol error, not a lost connection."""

from __future__ import annotations

import asyncio

import pytest
from victron_gx_modbus import Client, GXProtocolError, Simulator

# Home Assistant's test plugin blocks Python sockets; the foreign server listens on 127.0.0.1.
pytestmark = pytest.mark.usefixtures("socket_enabled")


async def answer_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(64)
    writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    await writer.drain()
    writer.close()


async def test_an_http_server_on_the_port_is_a_protocol_error() -> None:
    server = await asyncio.start_server(answer_http, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, Client("127.0.0.1", port, timeout=2) as client:
        with pytest.raises(GXProtocolError, match="not a Modbus TCP reply"):
            await client.read_registers(100, 840)
        with pytest.raises(GXProtocolError):
            await client.scan()
        with pytest.raises(GXProtocolError):
            await client.identify()
        assert client.metrics()["timeouts"] == 0


async def test_a_spoiled_frame_is_a_protocol_error_and_the_next_request_reconnects() -> None:
    async with Simulator("minimal") as sim, Client(sim.host, sim.port, timeout=2) as client:
        assert len(await client.read_registers(100, 2700)) == 1
        sim.malform_next_replies("bad_protocol")
        with pytest.raises(GXProtocolError):
            await client.read_registers(100, 2700)
        assert len(await client.read_registers(100, 2700)) == 1
        assert client.metrics()["reconnects"] == 1
