"""Every unique_id, entity_id, device name and enabled-by-default flag per bundled scenario.

The snapshot (snapshots/test_stable_ids.ambr) is committed: any change fails
this test, so changing an ID is always a visible decision. Unique IDs must
never change; entity IDs and names change only with a reviewed ledger change.
Update with `pytest tests/python/ha/test_stable_ids.py --snapshot-update`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from homeassistant.helpers import device_registry as dr

from .conftest import SCENARIOS, entry_entities, setup_entry

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from syrupy.assertion import SnapshotAssertion
    from victron_gx_modbus import Simulator


@pytest.mark.parametrize("simulator", SCENARIOS, indirect=True)
async def test_ids_per_scenario(
    hass: HomeAssistant, simulator: Simulator, snapshot: SnapshotAssertion
) -> None:
    entry = await setup_entry(hass, simulator)
    devices = dr.async_get(hass)
    rows = []
    for entity in sorted(entry_entities(hass, entry), key=lambda e: e.unique_id):
        device = devices.async_get(entity.device_id) if entity.device_id else None
        assert device is not None
        enabled = "enabled" if entity.disabled_by is None else "disabled"
        rows.append(f"{entity.unique_id} | {entity.entity_id} | {device.name} | {enabled}")
    assert rows == snapshot
    assert await hass.config_entries.async_unload(entry.entry_id)
