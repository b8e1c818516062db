"""The integration through a run of GX faults: everything recovers by itself, and the log stays clean.

One entry lives through a stall longer than the timeout, malformed and cut
replies, a GX that drops the connection every few replies, an unplugged and
replugged device, and a reboot. Afterwards every enabled entity has a value
again, and the log holds no error but the coordinator's one line for the
reboot (and no traceback but, from HA 2026.10, that line's own at debug level).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.helpers.update_coordinator import UpdateFailed

from .conftest import coordinator_of, entry_entities, refresh_until, setup_entry

if TYPE_CHECKING:
    import pytest
    from homeassistant.core import HomeAssistant
    from victron_gx_modbus import Simulator

    from custom_components.victron_gx_modbus.hub import VictronGxConfigEntry


def all_shown(hass: HomeAssistant, entry: VictronGxConfigEntry) -> bool:
    """Whether every enabled entity of the entry has a state other than unavailable."""
    for entity in entry_entities(hass, entry):
        if entity.disabled_by is None:
            state = hass.states.get(entity.entity_id)
            if state is None or state.state == STATE_UNAVAILABLE:
                return False
    return True


def reboot_detail(record: logging.LogRecord) -> bool:
    """Whether a record is the coordinator's debug-level detail of a failed update (HA 2026.10 logs it)."""
    failure = record.exc_info[1] if record.exc_info else None
    return (
        record.levelno == logging.DEBUG
        and record.getMessage() == "Full error:"
        and isinstance(failure, UpdateFailed)
    )


async def test_a_run_of_faults_is_survived_with_a_clean_log(
    hass: HomeAssistant, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    entry = await setup_entry(hass, simulator)
    coordinator = coordinator_of(entry)
    recovered = lambda: coordinator.last_update_success and all_shown(hass, entry)  # noqa: E731

    simulator.stall(3)  # longer than the request timeout (0.5 s in these tests)
    await coordinator.async_refresh()
    await refresh_until(coordinator, recovered)

    for kind in ("bad_length", "wrong_transaction", "wrong_unit", "bad_protocol"):
        simulator.malform_next_replies(kind, 2)
        await coordinator.async_refresh()
        await refresh_until(coordinator, recovered)

    simulator.drop_next_replies(2)  # replies cut in half, connection closed
    await coordinator.async_refresh()
    await refresh_until(coordinator, recovered)

    simulator.drop_every(5)  # a flaky GX: every 5th reply cut, its connection closed
    injected = simulator.stats()["faults_injected"]
    for _ in range(10):
        await coordinator.async_refresh()
    assert simulator.stats()["faults_injected"] >= injected + 5, "the flaky GX did cut replies"
    simulator.clear_faults()
    await refresh_until(coordinator, recovered)

    await simulator.set_present("evse", present=False)
    await coordinator.async_refresh()
    assert not all_shown(hass, entry)
    await simulator.set_present("evse", present=True)
    await refresh_until(coordinator, recovered)

    simulator.reboot(0.3)
    await refresh_until(coordinator, lambda: not coordinator.last_update_success)
    await refresh_until(coordinator, recovered)

    values = [hass.states.get(e.entity_id) for e in entry_entities(hass, entry) if e.disabled_by is None]
    assert all(state is not None and state.state != STATE_UNKNOWN for state in values[:5])
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors if "Error fetching" not in r.getMessage()] == []
    assert len(errors) == 1, [r.getMessage() for r in errors]  # the reboot, once
    assert not [r for r in caplog.records if r.exc_info and not reboot_detail(r)], "a traceback was logged"
    assert await hass.config_entries.async_unload(entry.entry_id)
