"""The blueprints of blueprints/automation/victron_gx_modbus/, loaded and run against the simulator.

Each test copies the repository's blueprints into Home Assistant's config
folder, sets up the integration against a simulated GX over TCP, creates an
automation from the blueprint with the integration's own entities (checked
against the blueprint's selector filters) and changes the simulated site
(`Simulator.hold`: a battery run down, the grid gone, surplus solar) or stops
the GX answering, then checks what the automation did. Time is moved on with
the freezer where a blueprint waits.
"""

from __future__ import annotations

import shutil
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from homeassistant.components import persistent_notification
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from homeassistant.util.yaml import load_yaml_dict
from pytest_homeassistant_custom_component.common import async_fire_time_changed, async_mock_service

from custom_components.victron_gx_modbus.const import DOMAIN, device_identifier

from .compat import device_of
from .conftest import coordinator_of, entry_entities, setup_entry

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from freezegun.api import FrozenDateTimeFactory
    from homeassistant.core import HomeAssistant, ServiceCall
    from pytest_homeassistant_custom_component.common import MockConfigEntry
    from victron_gx_modbus import Simulator

BLUEPRINTS = Path(__file__).resolve().parents[3] / "blueprints"
FOLDER = BLUEPRINTS / "automation" / DOMAIN
SERIAL = "c0619ab2a7d1"
MESSAGE = {"message": "{{ message }}"}
"""Service data that passes on the text a blueprint made."""


def blueprint_inputs(name: str) -> dict[str, Any]:
    """The `input` section of a blueprint file (read as Home Assistant reads it)."""
    document = load_yaml_dict(FOLDER / name)
    inputs: dict[str, Any] = document["blueprint"]["input"]
    return inputs


def entity_id_of(hass: HomeAssistant, unique_id: str) -> str:
    """The entity ID of one of the integration's entities."""
    platform = "sensor"
    entity_id = er.async_get(hass).async_get_entity_id(platform, DOMAIN, unique_id)
    assert entity_id is not None, unique_id
    return entity_id


def assert_selectable(hass: HomeAssistant, blueprint: str, name: str, entity_ids: list[str]) -> None:
    """The blueprint's entity selector offers these entities (integration, domain, device class)."""
    (wanted,) = blueprint_inputs(blueprint)[name]["selector"]["entity"]["filter"]
    assert wanted["integration"] == DOMAIN
    registry = er.async_get(hass)
    for entity_id in entity_ids:
        entry = registry.async_get(entity_id)
        assert entry is not None
        assert entry.platform == wanted["integration"]
        assert entry.domain == wanted["domain"]
        assert entry.original_device_class == wanted["device_class"], entity_id
        assert entry.disabled_by is None, f"{entity_id} is disabled by default"


async def use_blueprint(hass: HomeAssistant, blueprint: str, inputs: dict[str, Any]) -> str:
    """Create an automation from a blueprint; returns its entity ID."""
    use = {"path": f"{DOMAIN}/{blueprint}", "input": inputs}
    config = {"automation": [{"alias": blueprint, "use_blueprint": use}]}
    assert await async_setup_component(hass, "automation", config)
    await hass.async_block_till_done()
    automations = hass.states.async_entity_ids("automation")
    assert len(automations) == 1, automations
    state = hass.states.get(automations[0])
    assert state is not None
    assert state.state == STATE_ON, f"the automation from {blueprint} did not load: {state.attributes}"
    return automations[0]


def mocked_actions(
    hass: HomeAssistant, inputs: dict[str, dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, list[ServiceCall]]]:
    """Blueprint action inputs that each call a mocked service, and the calls each service gets.

    `inputs` maps an input's name (`lost_actions`) to the data its service
    (`test.lost`) is called with; the calls are listed by the service's name.
    """
    actions: dict[str, Any] = {}
    calls: dict[str, list[ServiceCall]] = {}
    for name, data in inputs.items():
        service = name.removesuffix("_actions")
        calls[service] = async_mock_service(hass, "test", service)
        actions[name] = [{"action": f"test.{service}", "data": data}]
    return actions, calls


async def refresh(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Poll the GX once and let the automations see the new states."""
    await coordinator_of(entry).async_refresh()
    await hass.async_block_till_done()


async def refresh_until(hass: HomeAssistant, entry: MockConfigEntry, done: Callable[[], bool]) -> None:
    """Poll until `done()` holds; sleeps in real time (the frozen clock stops asyncio's timers)."""
    for _ in range(100):
        await refresh(hass, entry)
        if done():
            return
        await hass.async_add_executor_job(time.sleep, 0.1)
    msg = "the simulated GX did not come back within 10 s"
    raise AssertionError(msg)


async def wait(hass: HomeAssistant, freezer: FrozenDateTimeFactory, delta: timedelta) -> None:
    """Move Home Assistant's clock on by `delta` (timers due by then fire)."""
    freezer.tick(delta)
    async_fire_time_changed(hass, dt_util.utcnow())
    await hass.async_block_till_done()


def notification(hass: HomeAssistant, notification_id: str) -> dict[str, Any] | None:
    """A persistent notification by ID, if it is shown."""
    shown = persistent_notification._async_get_or_create_notifications(hass)
    found = shown.get(notification_id)
    return dict(found) if found is not None else None


@pytest.fixture
async def entry(hass: HomeAssistant, simulator: Simulator, tmp_path: Path) -> AsyncIterator[MockConfigEntry]:
    """The GX set up, with the repository's blueprints in the config folder (as the import links put them).

    Afterwards the automations are turned off, their runs and time triggers
    with them (HA 2026.10 fails lingering ones), and the entry unloads.
    """
    hass.config.config_dir = str(tmp_path)
    shutil.copytree(BLUEPRINTS, tmp_path / "blueprints")
    assert await async_setup_component(hass, "persistent_notification", {})
    entry = await setup_entry(hass, simulator)
    yield entry
    await hass.services.async_call(
        "automation", "turn_off", {"entity_id": "all", "stop_actions": True}, blocking=True
    )
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(entry.entry_id)


def test_every_blueprint_is_tested() -> None:
    assert sorted(p.name for p in FOLDER.glob("*.yaml")) == [
        "battery_low.yaml",
        "grid_lost.yaml",
        "gx_unreachable.yaml",
        "surplus_solar.yaml",
    ]


async def test_battery_low_notifies_once_below_the_threshold(
    hass: HomeAssistant, simulator: Simulator, entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    soc = entity_id_of(hass, f"{SERIAL}_225_battery_soc")
    assert_selectable(hass, "battery_low.yaml", "battery", [soc])
    actions, called = mocked_actions(hass, {"extra_actions": MESSAGE})
    calls = called["extra"]
    await use_blueprint(
        hass, "battery_low.yaml", {"battery": soc, "threshold": 20, "delay": {"minutes": 2}, **actions}
    )
    notification_id = f"victron_battery_low_{soc}"

    await simulator.hold("lynx", "soc", 15.0)
    await refresh(hass, entry)
    assert hass.states.get(soc).state == "15.0"  # type: ignore[union-attr]
    await wait(hass, freezer, timedelta(minutes=1))
    assert not calls, "notified before the delay"
    await wait(hass, freezer, timedelta(minutes=1, seconds=5))
    assert [call.data["message"] for call in calls] == ["Lynx BMS State of charge is at 15 %, below 20 %."], (
        "the battery's own name and value"
    )
    shown = notification(hass, notification_id)
    assert shown is not None
    assert shown["title"] == "Battery low"

    await simulator.hold("lynx", "soc", 12.0)  # lower still: no second notification
    await refresh(hass, entry)
    await wait(hass, freezer, timedelta(minutes=3))
    assert len(calls) == 1

    await simulator.hold("lynx", "soc", 40.0)
    await refresh(hass, entry)
    assert notification(hass, notification_id) is None, "dismissed once the battery recovered"


async def test_grid_lost_and_back(
    hass: HomeAssistant, simulator: Simulator, entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    source = entity_id_of(hass, f"{SERIAL}_100_system_ac_active_in_source")
    assert_selectable(hass, "grid_lost.yaml", "active_input", [source])
    assert hass.states.get(source).state == "grid"  # type: ignore[union-attr]
    actions, calls = mocked_actions(
        hass, {"lost_actions": MESSAGE, "back_actions": {"minutes": "{{ minutes_away }}"}}
    )
    lost, back = calls["lost"], calls["back"]
    await use_blueprint(hass, "grid_lost.yaml", {"active_input": source, "delay": {"seconds": 30}, **actions})

    # The GX unreachable is no power cut.
    simulator.reboot(1.0)
    await refresh(hass, entry)
    assert hass.states.get(source).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    await wait(hass, freezer, timedelta(minutes=1))
    assert not lost
    await refresh_until(hass, entry, lambda: hass.states.get(source).state == "grid")  # type: ignore[union-attr]

    await simulator.hold("gx", "ac_active_in_source", 240)  # the inverter/charger disconnected its input
    await refresh(hass, entry)
    assert hass.states.get(source).state == "not_connected"  # type: ignore[union-attr]
    await wait(hass, freezer, timedelta(seconds=35))
    assert len(lost) == 1
    assert "not connected, not grid" in lost[0].data["message"]
    assert notification(hass, f"victron_grid_lost_{source}")["title"] == "Grid lost"  # type: ignore[index]

    await wait(hass, freezer, timedelta(minutes=12))
    await simulator.hold("gx", "ac_active_in_source", 1)
    await refresh(hass, entry)
    assert len(back) == 1
    assert back[0].data["minutes"] == 13  # 35 s + 12 min
    assert notification(hass, f"victron_grid_lost_{source}")["title"] == "Grid back"  # type: ignore[index]


async def test_surplus_solar_with_hysteresis_and_minimum_on_time(
    hass: HomeAssistant, simulator: Simulator, entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    phases = [entity_id_of(hass, f"{SERIAL}_100_system_ac_grid_l{p}_power") for p in (1, 2, 3)]
    assert_selectable(hass, "surplus_solar.yaml", "grid_power", phases)
    assert await async_setup_component(hass, "homeassistant", {})  # homeassistant.turn_on, always there
    assert await async_setup_component(hass, "input_boolean", {"input_boolean": {"heater": {}}})
    heater = "input_boolean.heater"

    async def grid(watts_per_phase: float) -> None:
        for phase in (1, 2, 3):
            await simulator.hold("grid", f"ac_l{phase}_power", watts_per_phase)
        await refresh(hass, entry)
        await wait(hass, freezer, timedelta(seconds=1))

    def heater_state() -> str:
        state = hass.states.get(heater)
        assert state is not None
        return state.state

    await grid(300.0)  # importing
    await use_blueprint(
        hass,
        "surplus_solar.yaml",
        {
            "grid_power": phases,
            "load": heater,
            "on_export": 2000,
            "off_export": 200,
            "on_delay": {"minutes": 2},
            "min_on": {"minutes": 15},
        },
    )
    await grid(-500.0)  # 1500 W export: below the "on" level
    await wait(hass, freezer, timedelta(minutes=5))
    assert heater_state() == STATE_OFF

    await grid(-900.0)  # 2700 W export, but not for long enough
    await wait(hass, freezer, timedelta(minutes=1))
    assert heater_state() == STATE_OFF
    await grid(-100.0)
    await grid(-900.0)
    await wait(hass, freezer, timedelta(minutes=2, seconds=5))
    assert heater_state() == STATE_ON, "two minutes of surplus turn the load on"

    await grid(-300.0)  # the heater takes its share: 900 W export is within the hysteresis band
    await wait(hass, freezer, timedelta(minutes=5))
    assert heater_state() == STATE_ON
    await grid(200.0)  # importing, but the heater has run only 5 minutes
    await wait(hass, freezer, timedelta(minutes=5))
    assert heater_state() == STATE_ON, "the minimum on time holds it on"
    await wait(hass, freezer, timedelta(minutes=6))
    assert heater_state() == STATE_OFF, "off once it has run 15 minutes"

    # The GX unreachable: no export known, nothing changes.
    await grid(-900.0)
    simulator.reboot(1.0)
    await refresh(hass, entry)
    await wait(hass, freezer, timedelta(minutes=5))
    assert heater_state() == STATE_OFF


async def test_gx_unreachable_for_some_minutes(
    hass: HomeAssistant, simulator: Simulator, entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    gx = device_of(hass, (DOMAIN, device_identifier(SERIAL, 100, "system")))
    assert gx is not None
    owned = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert gx in owned, "the selector's integration filter offers it"
    sensors = [e for e in entry_entities(hass, entry) if e.device_id == gx.id and e.domain == "sensor"]
    assert sensors, "the selector's entity filter offers it"
    actions, calls = mocked_actions(hass, {"lost_actions": MESSAGE, "back_actions": MESSAGE})
    lost, back = calls["lost"], calls["back"]
    await use_blueprint(hass, "gx_unreachable.yaml", {"gx": gx.id, "minutes": 5, **actions})
    simulator.reboot(2.0)
    await refresh(hass, entry)
    await wait(hass, freezer, timedelta(minutes=4))
    await refresh(hass, entry)
    assert not lost, "not yet five minutes"
    await wait(hass, freezer, timedelta(minutes=1, seconds=5))
    assert len(lost) == 1
    assert lost[0].data["message"].startswith("The GX has not answered since ")
    assert lost[0].data["message"].endswith("(System overview unavailable).")
    assert notification(hass, f"victron_gx_unreachable_{gx.id}")["title"] == "GX unreachable"  # type: ignore[index]
    assert not back

    await refresh_until(hass, entry, lambda: bool(back))
    assert back[0].data["message"] == "The GX answers again after 5 min."
    assert notification(hass, f"victron_gx_unreachable_{gx.id}")["title"] == "GX back"  # type: ignore[index]

    # A short absence (a reboot) goes unreported.
    simulator.reboot(1.0)
    await refresh(hass, entry)
    await wait(hass, freezer, timedelta(minutes=2))
    await refresh_until(hass, entry, lambda: coordinator_of(entry).last_update_success)
    assert len(lost) == 1
    assert len(back) == 1
