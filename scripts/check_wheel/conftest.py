"""Fixtures of the installed-wheel check: Home Assistant may load the copied integration."""

from __future__ import annotations

import pytest

# Imported first, so that `custom_components` is the folder beside this file and not
# the test package's own testing_config/custom_components (Home Assistant imports it later).
from custom_components.victron_gx_modbus.const import DOMAIN


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/victron_gx_modbus (the copy beside this file)."""
    assert DOMAIN == "victron_gx_modbus"
