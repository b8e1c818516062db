"""The demo: a simulated GX and a real Home Assistant with the integration set up.

`python -m demo [--scenario three-phase] [--gx-port 5020] [--latency-ms 5]`
(run by `scripts/develop`, with `scripts/` on the path). It starts the GX
simulator (its MQTT over TLS on 8883, as a GX on current firmware offers it,
so the devices carry their product names; `--no-mqtt` leaves MQTT off),
then Home Assistant on http://127.0.0.1:8123 with its state in
config/, creates the owner on the first start, adds the simulated GX through
the integration's config flow when it is not set up yet, prints the URL and
the login, and stops both cleanly on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
from victron_gx_modbus import Simulator
from victron_gx_modbus.mqtt import MQTT_TLS_PORT

from .api import DemoError, HomeAssistantApi
from .history import seed_history
from .site import energy_counters_to_enable, furnish
from .state import CONFIG, DEFAULT_HA_PORT, HA_COMMAND, Login, prepare

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from .api import Websocket

HA_START_TIMEOUT = 120
HA_STOP_TIMEOUT = 30
ENABLED_POLLED_WITHIN_S = 60
"""How long after Home Assistant's reload newly enabled entities may take to get a value."""


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/develop", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="three-phase", help="simulator scenario (default three-phase)")
    parser.add_argument("--gx-port", type=int, default=5020, help="the simulated GX's Modbus TCP port")
    parser.add_argument(
        "--gx-host", default="127.0.0.1", help="the loopback address the simulated GX listens on"
    )
    parser.add_argument("--latency-ms", type=float, default=5.0, help="simulated network latency per request")
    parser.add_argument(
        "--no-mqtt",
        dest="mqtt",
        action="store_false",
        help=f"the simulated GX offers no MQTT (default: over TLS on {MQTT_TLS_PORT}, where the flow looks)",
    )
    parser.add_argument("--ha-port", type=int, default=DEFAULT_HA_PORT, help="Home Assistant's HTTP port")
    parser.add_argument(
        "--config", type=Path, default=CONFIG, help="Home Assistant's folder (default config/)"
    )
    parser.add_argument(
        "--no-history",
        dest="history",
        action="store_false",
        help="do not seed the last 24 h of statistics when the GX is added (see demo/history.py)",
    )
    return parser.parse_args()


async def _stop(process: asyncio.subprocess.Process) -> int:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), HA_STOP_TIMEOUT)
        except TimeoutError:
            process.kill()
    return await process.wait()


async def _enable_energy_counters(api: HomeAssistantApi, ws: Websocket, entry_id: str) -> None:
    """Enable the counters the energy dashboard takes that start disabled; wait until they are polled.

    Home Assistant reloads the entry itself (30 s after the last change), as
    it does for a user who enables an entity.
    """
    enable = energy_counters_to_enable(await ws.command({"type": "config/entity_registry/list"}), entry_id)
    if not enable:
        return
    delay = await ws.enable(enable)
    print(
        f"Enabled {', '.join(enable)} for the energy dashboard; "
        f"Home Assistant reloads the GX's entry in {delay:.0f} s",
        flush=True,
    )
    try:
        async with asyncio.timeout(delay + ENABLED_POLLED_WITHIN_S):
            await api.wait_for_numbers(enable)
    except TimeoutError as err:
        msg = f"{', '.join(enable)} had no value {delay + ENABLED_POLLED_WITHIN_S:.0f} s after being enabled"
        raise DemoError(msg) from err


async def _start(url: str, gx: Simulator, login: Login, scenario: str, *, history: bool) -> None:
    """Wait for Home Assistant, log in (creating the owner on first start), add the GX if needed.

    When it adds the GX, it enables the energy counters that start disabled
    (see `site.ENERGY_COUNTERS`) and, with `history`, seeds the last 24 hours
    of statistics from the simulator's site model. Then it configures the
    energy dashboard and the site dashboard from the GX's entities.
    """
    async with aiohttp.ClientSession() as session:
        api = HomeAssistantApi(session, url)
        try:
            async with asyncio.timeout(HA_START_TIMEOUT):
                await api.wait_until_up()
        except TimeoutError as err:
            msg = f"Home Assistant did not answer within {HA_START_TIMEOUT} s"
            raise DemoError(msg) from err
        await api.log_in(login.username, login.password)
        ws = await api.websocket()
        if not await api.gx_entries():
            entry = await api.add_gx(gx.host, gx.port)
            print(f"Added '{entry['title']}' through the config flow", flush=True)
            await _enable_energy_counters(api, ws, entry["entry_id"])
            if history:
                seeded = await seed_history(ws, scenario)
                print(
                    f"Seeded {seeded.hours} h of statistics (from {seeded.start:%Y-%m-%d %H:%M} UTC) "
                    f"for {seeded.entities} sensors from the simulator's site model",
                    flush=True,
                )
        await furnish(ws)


async def _first(*awaitables: Awaitable[object]) -> asyncio.Future[object]:
    """Wait for the first of `awaitables` to finish; cancel the others."""
    tasks = [asyncio.ensure_future(awaitable) for awaitable in awaitables]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return done.pop()


async def _run(args: argparse.Namespace) -> int:
    login = prepare(args.config, args.scenario, args.ha_port)
    url = f"http://127.0.0.1:{args.ha_port}"
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    tls_port = MQTT_TLS_PORT if args.mqtt else None
    gx_simulator = Simulator(
        args.scenario,
        host=args.gx_host,
        port=args.gx_port,
        latency_ms=args.latency_ms,
        mqtt_tls_port=tls_port,
    )
    async with gx_simulator as gx:
        print(f"GX simulator '{args.scenario}' on {gx.host}:{gx.port}", flush=True)
        if gx.mqtt_tls_port:
            print(
                f"its MQTT over TLS on port {gx.mqtt_tls_port}, certificate {gx.mqtt_fingerprint}", flush=True
            )
        started = time.monotonic()
        # Its own session: Ctrl-C reaches the demo only, which stops Home Assistant once.
        hass = await asyncio.create_subprocess_exec(*HA_COMMAND, str(args.config), start_new_session=True)
        try:
            startup = _start(url, gx, login, args.scenario, history=args.history)
            first = await _first(startup, stop.wait(), hass.wait())
            if first.exception() is not None:
                print(f"demo: {first.exception()}", file=sys.stderr)
                return 1
            if not stop.is_set() and hass.returncode is None:
                print(
                    f"\nHome Assistant is up after {time.monotonic() - started:.0f} s: {url}\n"
                    f"From this machine no login is asked; elsewhere log in as "
                    f"{login.username!r} with password {login.password!r}.\nCtrl-C to stop.",
                    flush=True,
                )
                await _first(stop.wait(), hass.wait())
        finally:
            code = await _stop(hass)
            print(f"Home Assistant stopped (exit code {code}).", flush=True)
    return 0 if code == 0 else 1


def main() -> int:
    """Run the demo until Ctrl-C."""
    return asyncio.run(_run(_arguments()))


if __name__ == "__main__":
    sys.exit(main())
