"""What a person sees: the demo in headless Chromium, captured and checked.

`python -m demo.screenshots [--out docs/screenshots]` (run by
`scripts/screenshots`) starts the demo in a fresh folder on free ports, opens
the GX's device page, a device with per-phase values, the battery's more-info
dialog, the site dashboard, its last 24 hours (the statistics the demo seeds)
and the energy dashboard in Debian's Chromium (Playwright), saves a PNG of
each and fails when a page does not show the Victron devices or plausible
values, or when the energy dashboard lacks a grid, solar or battery source or a
source has no energy today.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import sys
import tempfile
from pathlib import Path

import aiohttp
from playwright.async_api import Page, async_playwright

from .api import HomeAssistantApi
from .state import ROOT, free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
UP_WITHIN_S = 180
"""The demo's first start: Home Assistant, the config flow, 30 s until it reloads the entry, the history."""
SOURCES = ("grid", "solar", "battery")
"""The energy dashboard's sources the demo's site has, each of which must show energy today."""
SETTLE_MS = 4000


class ScreenshotError(Exception):
    """A page does not show what it should."""


def _expect(text: str, pattern: str, what: str) -> re.Match[str]:
    match = re.search(pattern, text)
    if match is None:
        msg = f"{what}: {pattern!r} not on the page"
        raise ScreenshotError(msg)
    return match


async def _page_text(page: Page) -> str:
    """Visible text, including what Home Assistant renders inside shadow roots."""
    text: str = await page.evaluate(
        """() => {
            const parts = [];
            const walk = (node) => {
                if (node.nodeType === Node.TEXT_NODE) parts.push(node.textContent);
                if (node.shadowRoot) walk(node.shadowRoot);
                for (const child of node.childNodes) walk(child);
            };
            walk(document.body);
            return parts.join(" ").replace(/\\s+/g, " ");
        }"""
    )
    return text


def _check_device_list(text: str) -> None:
    """The device list names the site's devices and, as the demo's GX offers MQTT, their products."""
    for name in ("Lynx BMS", "Multi L1-L3", "Grid", "System overview", "SmartSolar MPPT VE.Can 250/100 0"):
        _expect(text, re.escape(name), "device list")
    for product in ("Lynx Smart BMS", "Quattro-II", "EV Charge Station"):
        _expect(text, re.escape(product), "device list: product names")


async def _capture(page: Page, out: Path, base: str) -> list[str]:
    """Visit every page, check it and save it; returns the files written."""
    written = []

    async def shot(name: str) -> str:
        await page.wait_for_timeout(SETTLE_MS)
        path = out / f"{name}.png"
        await page.screenshot(path=str(path))
        written.append(str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path))
        return await _page_text(page)

    await page.goto(f"{base}/config/devices/dashboard")
    text = await shot("devices")
    _check_device_list(text)

    await page.get_by_text("Home ESS", exact=True).first.click()
    text = await shot("gx-device")
    _expect(text, r"Victron Energy", "GX device page")
    _expect(text, r"v3\.\d\d", "GX firmware")

    await page.goto(f"{base}/config/devices/dashboard")
    await page.wait_for_timeout(SETTLE_MS)
    await page.get_by_text("Grid", exact=True).first.click()
    text = await shot("grid-device")
    for phase in (1, 2, 3):
        watts = _expect(text, rf"Power L{phase} (-?[\d,.]+) W", f"grid power L{phase}")
        if not 0 < abs(float(watts.group(1).replace(",", ""))) < 20_000:  # noqa: PLR2004 - a house's phase
            msg = f"grid power L{phase} is {watts.group(1)} W"
            raise ScreenshotError(msg)

    await page.goto(f"{base}/config/devices/dashboard")
    await page.wait_for_timeout(SETTLE_MS)
    await page.get_by_text("Lynx BMS", exact=True).first.click()
    await page.wait_for_timeout(SETTLE_MS)
    await page.get_by_text("State of charge", exact=True).first.click()
    text = await shot("battery-soc-dialog")
    soc = _expect(text, r"(\d+(?:\.\d+)?) ?%", "state of charge in the more-info dialog")
    if not 0 < float(soc.group(1)) <= 100:  # noqa: PLR2004 - a percentage
        msg = f"state of charge is {soc.group(1)} %"
        raise ScreenshotError(msg)

    await page.goto(f"{base}/victron-site/site")
    text = await shot("site-dashboard")
    for title in ("Battery", "Grid per phase", "Loads per phase", "Solar"):
        _expect(text, re.escape(title), "site dashboard")

    await page.goto(f"{base}/victron-site/day")
    text = await shot("battery-soc-day")
    for title in ("Battery state of charge, last 24 h", "Grid per phase, last 24 h"):
        _expect(text, re.escape(title), "the site's last 24 h")

    await page.goto(f"{base}/energy")
    text = await shot("energy-dashboard")
    for kind in ("Grid", "Solar", "Battery"):
        total = _expect(text, rf"{kind} total (-?[\d,.]+) kWh", "the energy dashboard's sources")
        if float(total.group(1).replace(",", "")) == 0:
            msg = f"the energy dashboard shows {kind.lower()} total 0 kWh"
            raise ScreenshotError(msg)
    return written


async def time_zone(base: str, folder: Path) -> str:
    """Home Assistant's time zone: the browser shows the pages in it, as a person's browser at home would."""
    async with aiohttp.ClientSession() as session:
        api = await _logged_in(session, base, folder)
        zone: str = (await (await api.websocket()).command({"type": "get_config"}))["time_zone"]
        return zone


async def _logged_in(session: aiohttp.ClientSession, base: str, folder: Path) -> HomeAssistantApi:
    login = json.loads((folder / ".demo-login.json").read_text(encoding="utf-8"))
    api = HomeAssistantApi(session, base)
    await api.log_in(login["username"], login["password"])
    return api


async def energy_today(base: str, folder: Path) -> dict[str, float]:
    """The energy so far today (kWh) of each source of the energy dashboard, as its cards sum it.

    A source is `<type> <statistic IDs>`: a grid's import and export, a
    battery's charge and discharge, a solar array's yield. Today is Home
    Assistant's calendar day (in its time zone).
    """
    async with aiohttp.ClientSession() as session:
        ws = await (await _logged_in(session, base, folder)).websocket()
        prefs = await ws.command({"type": "energy/get_prefs"})
        found: dict[str, float] = {}
        for source in prefs["energy_sources"]:
            flows = [source, *source.get("flow_from", []), *source.get("flow_to", [])]
            ids = [flow[f] for flow in flows for f in ("stat_energy_from", "stat_energy_to") if flow.get(f)]
            total = 0.0
            for statistic_id in ids:
                during = await ws.command(
                    {
                        "type": "recorder/statistic_during_period",
                        "statistic_id": statistic_id,
                        "types": ["change"],
                        "calendar": {"period": "day"},
                    }
                )
                kwh = float(during.get("change") or 0.0)
                print(f"energy today: {statistic_id}: {kwh:.2f} kWh")
                total += kwh
            found[f"{source['type']} {' + '.join(ids)}"] = total
        return found


def check_energy(energy: dict[str, float]) -> None:
    """Fail when the energy dashboard lacks a grid, solar or battery source, or a source has no energy today.

    `energy` is what `energy_today` returns (`<type> <statistic IDs>` -> kWh).
    """
    kinds = {name.split(" ", 1)[0] for name in energy}
    missing = [kind for kind in SOURCES if kind not in kinds]
    if missing:
        msg = f"the energy dashboard has no {' and no '.join(missing)} source"
        raise ScreenshotError(msg)
    empty = sorted(name for name, kwh in energy.items() if kwh <= 0)
    if empty:
        msg = f"no energy today from {empty}"
        raise ScreenshotError(msg)


async def _run(out: Path) -> int:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="vgm-screenshots-") as folder:
        demo = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "demo",
            "--config",
            folder,
            "--ha-port",
            str(port),
            "--gx-port",
            str(free_port()),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT / "scripts")},
        )
        if demo.stdout is None:  # pragma: no cover - asked for a pipe above
            return 1
        try:
            async with asyncio.timeout(UP_WITHIN_S):
                while b"Home Assistant is up" not in (line := await demo.stdout.readline()):
                    if not line:
                        print("screenshots: the demo ended early", file=sys.stderr)
                        return 1
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = await browser.new_page(
                    viewport={"width": 1400, "height": 1000}, timezone_id=await time_zone(base, Path(folder))
                )
                try:
                    written = await _capture(page, out, base)
                finally:
                    await browser.close()
            check_energy(await energy_today(base, Path(folder)))
        except ScreenshotError as err:
            print(f"screenshots: {err}", file=sys.stderr)
            return 1
        finally:
            if demo.returncode is None:
                demo.send_signal(signal.SIGINT)
            await demo.wait()
    for path in written:
        print(f"wrote {path}")
    return 0


def main() -> int:
    """Capture and check the demo's pages."""
    parser = argparse.ArgumentParser(prog="scripts/screenshots", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    out: Path = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    return asyncio.run(_run(out))


if __name__ == "__main__":
    sys.exit(main())
