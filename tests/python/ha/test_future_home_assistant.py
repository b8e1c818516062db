"""Forms deprecated by Home Assistant releases after the one the tests run (2026.2) stay out.

Users run 2026.11; these APIs still work in 2026.2 and so pass every other
test, but warn or break there (DESIGN.md section 7).
"""

from __future__ import annotations

import re

import pytest
from conftest import ROOT

SOURCES = sorted((ROOT / "custom_components" / "victron_gx_modbus").glob("*.py"))

DEPRECATED = {
    r"\bvia_device\s*=": "DeviceInfo(via_device=) is deprecated from 2026.8: set via_device_id",
    r"[\"']via_device[\"']": "DeviceInfo via_device is deprecated from 2026.8",
    r"add_update_listener": "an update listener warns in 2026.11: use OptionsFlowWithReload",
    r"show_advanced_options": "advanced mode is going away",
    r"homeassistant\.components\.ssdp import": "use homeassistant.helpers.service_info.ssdp",
    r"(?<!hass)(?<!homeassistant)\.config_entries\b": "DeviceEntry.config_entries is deprecated from 2026.10",
    r"registry\.devices\.(items|values|keys)\(": "use dr.async_entries_for_config_entry",
}


def test_sources_are_found() -> None:
    assert len(SOURCES) >= 8


@pytest.mark.parametrize(("pattern", "why"), DEPRECATED.items())
def test_no_deprecated_form(pattern: str, why: str) -> None:
    offenders = [
        f"{source.name}:{number}: {line.strip()}"
        for source in SOURCES
        for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(pattern, line)
    ]
    assert not offenders, f"{why}: {offenders}"
