"""quality_scale.yaml lists every rule of Home Assistant's quality scale with an honest status."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from conftest import ROOT
from homeassistant.util.yaml import load_yaml_dict

from custom_components.victron_gx_modbus import binary_sensor, diagnostics, sensor
from custom_components.victron_gx_modbus.config_flow import VictronGxConfigFlow

if TYPE_CHECKING:
    from collections.abc import Callable

INTEGRATION = ROOT / "custom_components" / "victron_gx_modbus"

RULES_BY_TIER = {
    "bronze": (
        "action-setup appropriate-polling brands common-modules config-flow config-flow-test-coverage "
        "dependency-transparency docs-actions docs-conditions docs-high-level-description "
        "docs-installation-instructions docs-removal-instructions docs-triggers entity-event-setup "
        "entity-unique-id has-entity-name runtime-data test-before-configure test-before-setup "
        "unique-config-entry"
    ),
    "silver": (
        "action-exceptions config-entry-unloading docs-configuration-parameters docs-installation-parameters "
        "entity-unavailable integration-owner log-when-unavailable parallel-updates reauthentication-flow "
        "test-coverage"
    ),
    "gold": (
        "devices diagnostics discovery discovery-update-info docs-data-update docs-examples "
        "docs-known-limitations docs-supported-devices docs-supported-functions docs-troubleshooting "
        "docs-use-cases dynamic-devices entity-category entity-device-class entity-disabled-by-default "
        "entity-translations exception-translations icon-translations reconfiguration-flow repair-issues "
        "stale-devices"
    ),
    "platinum": "async-dependency inject-websession strict-typing",
}
"""The rules of Home Assistant's quality scale (script/hassfest/quality_scale.py, 2026)."""
ALL_RULES = [rule for rules in RULES_BY_TIER.values() for rule in rules.split()]


def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((INTEGRATION / "manifest.json").read_text(encoding="utf-8"))
    return loaded


EVIDENCE: dict[str, Callable[[], bool]] = {
    "brands": (INTEGRATION / "brand" / "icon.png").is_file,
    "diagnostics": lambda: callable(getattr(diagnostics, "async_get_config_entry_diagnostics", None)),
    "discovery": lambda: bool(manifest().get("ssdp")),
    "dynamic-devices": (INTEGRATION / "device_watch.py").is_file,
    "icon-translations": (INTEGRATION / "icons.json").is_file,
    "integration-owner": lambda: bool(manifest().get("codeowners")),
    "parallel-updates": lambda: all(
        hasattr(module, "PARALLEL_UPDATES") for module in (sensor, binary_sensor)
    ),
    "reauthentication-flow": lambda: hasattr(VictronGxConfigFlow, "async_step_reauth"),
    "reconfiguration-flow": lambda: hasattr(VictronGxConfigFlow, "async_step_reconfigure"),
    "repair-issues": lambda: "async_create_issue" in (INTEGRATION / "issues.py").read_text(encoding="utf-8"),
    "strict-typing": (ROOT / "python" / "victron_gx_modbus" / "py.typed").is_file,
}
"""Rules whose status the code shows: done exactly when the evidence is there."""


def statuses() -> dict[str, dict[str, Any]]:
    """Rule -> {status, comment}, with the short form `rule: done` expanded."""
    rules = load_yaml_dict(str(INTEGRATION / "quality_scale.yaml"))["rules"]
    return {rule: value if isinstance(value, dict) else {"status": value} for rule, value in rules.items()}


def test_every_rule_is_listed_once() -> None:
    assert len(ALL_RULES) == len(set(ALL_RULES)) == 54
    assert sorted(statuses()) == sorted(ALL_RULES)


def test_every_rule_has_a_valid_status_and_exemptions_say_why() -> None:
    for rule, entry in statuses().items():
        assert set(entry) <= {"status", "comment"}, rule
        assert entry["status"] in {"done", "todo", "exempt"}, rule
        if entry["status"] == "exempt":
            assert str(entry.get("comment", "")).strip(), f"{rule}: an exemption needs a reason"


@pytest.mark.parametrize("rule", sorted(EVIDENCE))
def test_status_matches_the_code(rule: str) -> None:
    status = statuses()[rule]["status"]
    if status != "exempt":
        assert (status == "done") == EVIDENCE[rule](), f"{rule} is {status}: update quality_scale.yaml"
