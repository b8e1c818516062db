"""Forms deprecated by Home Assistant releases after 2026.2 stay out, of the integration and of its tests.

Users run 2026.11; these APIs still work in 2026.2 and so pass every test
there, but warn or break in newer releases (DESIGN.md section 7). The
newer-HA lane (scripts/test-newer-ha) runs every test on 2026.10 too, where
the autouse `no_deprecated_usage` fixture fails a test in which Home
Assistant reports a deprecated use by the integration; the last test shows it
recognises such a report.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest import ROOT
from homeassistant.helpers.frame import report_usage

from custom_components.victron_gx_modbus.const import DOMAIN

from .conftest import deprecation_reports, setup_entry

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from victron_gx_modbus import Simulator

SOURCES = sorted((ROOT / "custom_components" / "victron_gx_modbus").glob("*.py")) + sorted(
    path for path in (ROOT / "tests" / "python" / "ha").glob("*.py") if path.name != Path(__file__).name
)

DEPRECATED = {
    r"\bvia_device\s*=": "DeviceInfo(via_device=) is deprecated from 2026.8: set via_device_id",
    r"[\"']via_device[\"']": "DeviceInfo via_device is deprecated from 2026.8",
    r"add_update_listener": "an update listener warns in 2026.11: use OptionsFlowWithReload",
    r"show_advanced_options": "advanced mode is going away",
    r"homeassistant\.components\.ssdp import": "use homeassistant.helpers.service_info.ssdp",
    r"(?<!hass)(?<!homeassistant)\.config_entries\b": "DeviceEntry.config_entries is deprecated from 2026.10",
    r"registry\.devices\.(items|values|keys)\(": "use dr.async_entries_for_config_entry",
    r"\.async_get_device\(": "DeviceRegistry.async_get_device is deprecated from 2026.10 (see compat.py)",
    r"remove_config_entry_id\s*=": "async_update_device(remove_config_entry_id=) is deprecated from 2026.10",
    r"add_config_entry_id\s*=": "async_update_device(add_config_entry_id=) is deprecated from 2026.10",
    r"^\s*(import|from) voluptuous_serialize": "gone from 2026.10 (probatio): see tests' compat.form_fields",
}


def test_sources_are_found() -> None:
    assert len(SOURCES) >= 30


@pytest.mark.parametrize(("pattern", "why"), DEPRECATED.items())
def test_no_deprecated_form(pattern: str, why: str) -> None:
    offenders = [
        f"{source.name}:{number}: {line.strip()}"
        for source in SOURCES
        for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(pattern, line)
    ]
    assert not offenders, f"{why}: {offenders}"


async def test_a_deprecation_report_about_the_integration_is_caught(
    hass: HomeAssistant, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    await setup_entry(hass, simulator)
    report_usage("calls a retired helper", breaks_in_ha_version="2099.1.0", integration_domain=DOMAIN)
    reports = deprecation_reports(caplog.get_records("call"))
    assert len(reports) == 1
    assert "retired helper" in reports[0]
    caplog.clear()  # the report was this test's own doing
