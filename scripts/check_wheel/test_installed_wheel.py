"""The integration sets up against the simulator with the core from the installed wheel.

scripts/check-wheel copies this file, its conftest and the integration (as
HACS installs it: custom_components/victron_gx_modbus only) into an empty
folder and runs pytest there, in a fresh venv that holds the built wheel and
the pinned Home Assistant, so nothing can be imported from the source tree.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import victron_gx_modbus
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.util.package import is_installed
from victron_gx_modbus import Simulator

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

DOMAIN = "victron_gx_modbus"
HERE = Path(__file__).resolve().parent
MANIFEST = json.loads((HERE / "custom_components" / DOMAIN / "manifest.json").read_text(encoding="utf-8"))


def _integration_is_the_copy() -> bool:
    """Whether Home Assistant runs the integration copied beside this file."""
    integration = sys.modules[f"custom_components.{DOMAIN}"].__file__
    return integration is not None and Path(integration).resolve().is_relative_to(HERE)


def test_the_core_comes_from_the_wheel() -> None:
    """The core is the venv's installed package, and it meets the manifest's requirement."""
    core = Path(victron_gx_modbus.__file__).resolve()
    assert core.is_relative_to(Path(sys.prefix).resolve()), core
    assert "site-packages" in core.parts, core
    (requirement,) = MANIFEST["requirements"]
    assert is_installed(requirement), f"Home Assistant would try to install {requirement}"
    assert requirement == f"victron-gx-modbus=={victron_gx_modbus.__version__}"


async def test_config_flow_sets_up_the_gx(hass: HomeAssistant) -> None:
    """The user step, the scan and the summary create an entry whose entities show the GX's values."""
    async with Simulator("three-phase", latency_ms=0) as sim:
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        assert result["type"] is FlowResultType.FORM
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_HOST: sim.host, CONF_PORT: sim.port}
        )
        assert result["type"] is FlowResultType.SHOW_PROGRESS
        await hass.async_block_till_done()
        result = await hass.config_entries.flow.async_configure(result["flow_id"])
        assert result["type"] is FlowResultType.FORM
        assert result["step_id"] == "summary"
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        entry = result["result"]
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED

        assert _integration_is_the_copy()

        entities = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        enabled = [e for e in entities if not e.disabled_by]
        numbers = []
        for entity in enabled:
            state = hass.states.get(entity.entity_id)
            assert state is not None, entity.entity_id
            try:
                numbers.append(float(state.state))
            except ValueError:
                continue
        assert len(enabled) >= 100, len(enabled)
        assert sum(1 for n in numbers if n != 0) >= 50, numbers
        soc = next(e for e in enabled if e.unique_id.endswith("_battery_soc"))
        soc_state = hass.states.get(soc.entity_id)
        assert soc_state is not None
        assert 0 < float(soc_state.state) <= 100
        print(f"check-wheel: entry '{entry.title}' loaded, {len(enabled)} enabled entities")
        assert await hass.config_entries.async_unload(entry.entry_id)
