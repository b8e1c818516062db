"""Home Assistant as a process of its own stops cleanly while a poll of the GX is in flight."""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING

import aiohttp
import pytest
from demo.api import HomeAssistantApi
from demo.process import home_assistant
from demo.state import free_port, prepare
from victron_gx_modbus import Simulator

if TYPE_CHECKING:
    from pathlib import Path

STOP_WITHIN_S = 30


@pytest.mark.usefixtures("socket_enabled")
async def test_home_assistant_stopping_mid_poll_exits_0(tmp_path: Path) -> None:
    port = free_port()
    login = prepare(tmp_path, "three-phase", port)
    async with (
        Simulator("three-phase") as gx,
        home_assistant(tmp_path, stderr=asyncio.subprocess.PIPE) as hass,
    ):
        async with aiohttp.ClientSession() as session:
            api = HomeAssistantApi(session, f"http://127.0.0.1:{port}")
            async with asyncio.timeout(60):
                await api.wait_until_up()
            await api.log_in(login.username, login.password)
            await api.add_gx(gx.host, gx.port)
        gx.stall(100_000)  # from now on every poll hangs until its timeout
        async with asyncio.timeout(15):  # the next poll (5 s interval) is sent, and hangs
            while gx.stats()["faults_injected"] == 0:  # noqa: ASYNC110 - polling another process's state
                await asyncio.sleep(0.05)
        hass.send_signal(signal.SIGTERM)
        async with asyncio.timeout(STOP_WITHIN_S):
            _, stderr = await hass.communicate()
    assert hass.returncode == 0, stderr.decode(errors="replace")[-3000:]
    log = (tmp_path / "home-assistant.log").read_text(encoding="utf-8")
    assert "Traceback" not in log, log[-3000:]
    assert " ERROR " not in log, [line for line in log.splitlines() if " ERROR " in line]
