"""What the demo sets up beside the integration: the energy dashboard and a site dashboard.

Both are built from the integration's own entities, found in the entity
registry by their unique IDs (`<gx serial>_<unit>_<service>_<key>`), so they
follow whatever devices the scenario has.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .api import Websocket

DOMAIN = "victron_gx_modbus"
DASHBOARD = "victron-site"
NO_PRICE = {"entity_energy_price": None, "number_energy_price": None}
"""The demo sets no tariff."""
ENERGY_COUNTERS = (
    ("grid", "ac_energy_forward"),
    ("grid", "ac_energy_reverse"),
    ("solarcharger", "yield_user"),
    *(("pvinverter", f"ac_l{phase}_energy_forward") for phase in (1, 2, 3)),
    ("battery", "history_charged_energy"),
    ("battery", "history_discharged_energy"),
    ("evcharger", "ac_energy_forward"),
)
"""(service, key) of every counter `energy_preferences` takes.

The battery monitor's charged and discharged energy are disabled by default
(they overflow past 6,553.4 kWh on large systems) but they are the only
measure of what goes into and out of the battery: the inverter/charger's
counters miss what the solar chargers put into it on the DC side. So the demo
enables them, as a user who wants the battery in the energy dashboard does.
"""


class SiteEntities:
    """The integration's enabled entities by service type and register key (the demo has one GX)."""

    def __init__(self, registry: list[dict[str, Any]]) -> None:
        """Index the registry entries of the integration."""
        self._by_service: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for entry in registry:
            unique_id = str(entry.get("unique_id", ""))
            if entry.get("platform") != DOMAIN or entry.get("disabled_by"):
                continue
            _serial, _unit, service, key = unique_id.split("_", 3)
            self._by_service[service][key].append(str(entry["entity_id"]))

    def all(self, service: str, key: str) -> list[str]:
        """Every device's entity of a register (one per device of that service type)."""
        return sorted(self._by_service[service][key])

    def first(self, service: str, key: str) -> str | None:
        """The entity of a register of the first device of a service type, if any."""
        found = self.all(service, key)
        return found[0] if found else None


def energy_counters_to_enable(registry: list[dict[str, Any]], entry_id: str) -> list[str]:
    """The entity IDs of the entry's `ENERGY_COUNTERS` that the integration left disabled.

    Entities a user disabled stay as they are.
    """
    wanted = {f"{service}_{key}" for service, key in ENERGY_COUNTERS}
    return sorted(
        str(entry["entity_id"])
        for entry in registry
        if entry.get("config_entry_id") == entry_id
        and entry.get("disabled_by") == "integration"
        and str(entry.get("unique_id", "")).split("_", 2)[-1] in wanted
    )


def energy_preferences(site: SiteEntities) -> dict[str, Any]:
    """Energy dashboard sources from the GX's counters (grid, solar, battery, EV charger)."""
    sources: list[dict[str, Any]] = []
    grid_in, grid_out = site.first("grid", "ac_energy_forward"), site.first("grid", "ac_energy_reverse")
    if grid_in:
        sources.append(
            {
                "type": "grid",
                "flow_from": [{"stat_energy_from": grid_in, **NO_PRICE, "stat_cost": None}],
                "flow_to": [{"stat_energy_to": grid_out, **NO_PRICE, "stat_compensation": None}]
                if grid_out
                else [],
                "cost_adjustment_day": 0,
            }
        )
    sources += [{"type": "solar", "stat_energy_from": e} for e in site.all("solarcharger", "yield_user")]
    for phase in (1, 2, 3):
        sources += [
            {"type": "solar", "stat_energy_from": e}
            for e in site.all("pvinverter", f"ac_l{phase}_energy_forward")
        ]
    charged = site.all("battery", "history_charged_energy")
    discharged = site.all("battery", "history_discharged_energy")
    sources += [
        {"type": "battery", "stat_energy_from": out, "stat_energy_to": into}
        for into, out in zip(charged, discharged, strict=False)
    ]
    consumers = [{"stat_consumption": e} for e in site.all("evcharger", "ac_energy_forward")]
    return {"energy_sources": sources, "device_consumption": consumers}


def _entities_card(title: str, entities: list[str | None]) -> dict[str, Any] | None:
    shown = [e for e in entities if e]
    return {"type": "entities", "title": title, "entities": shown} if shown else None


def _graph_card(title: str, entities: list[str | None]) -> dict[str, Any] | None:
    shown = [e for e in entities if e]
    return {"type": "history-graph", "title": title, "hours_to_show": 1, "entities": shown} if shown else None


def _statistics_card(title: str, entities: list[str | None]) -> dict[str, Any] | None:
    """A day of hourly statistics (the demo seeds them; see history.py)."""
    shown = [e for e in entities if e]
    return (
        {
            "type": "statistics-graph",
            "title": title,
            "entities": shown,
            "days_to_show": 1,
            "period": "hour",
            "stat_types": ["mean", "min", "max"],
            "chart_type": "line",
        }
        if shown
        else None
    )


def site_dashboard(site: SiteEntities) -> dict[str, Any]:
    """A dashboard of the site: power flow, battery, per-phase grid and loads, solar; and their last day."""
    phases = (1, 2, 3)
    soc = site.first("battery", "soc") or site.first("system", "dc_battery_soc")
    cards: list[dict[str, Any] | None] = [
        {"type": "energy-distribution", "title": "Energy flow today"},
        {"type": "gauge", "entity": soc, "name": "Battery", "min": 0, "max": 100} if soc else None,
        _entities_card(
            "Battery",
            [
                site.first("battery", "dc_0_voltage"),
                site.first("battery", "dc_0_current"),
                site.first("battery", "dc_0_power"),
                site.first("battery", "state"),
                site.first("battery", "time_to_go"),
            ],
        ),
        _graph_card("Grid per phase", [site.first("system", f"ac_grid_l{p}_power") for p in phases]),
        _graph_card("Loads per phase", [site.first("system", f"ac_consumption_l{p}_power") for p in phases]),
        _graph_card(
            "Solar",
            [
                site.first("system", "dc_pv_power"),
                *[site.first("system", f"ac_pv_on_grid_l{p}_power") for p in phases],
            ],
        ),
        _entities_card("Inverter/charger", [site.first("vebus", f"ac_out_l{p}_p") for p in phases]),
    ]
    day: list[dict[str, Any] | None] = [
        _statistics_card("Battery state of charge, last 24 h", [soc]),
        _statistics_card(
            "Grid per phase, last 24 h", [site.first("system", f"ac_grid_l{p}_power") for p in phases]
        ),
        _statistics_card(
            "Solar, last 24 h",
            [
                site.first("system", "dc_pv_power"),
                *[site.first("system", f"ac_pv_on_grid_l{p}_power") for p in phases],
            ],
        ),
    ]
    return {
        "title": "Victron site",
        "views": [
            {"title": "Site", "path": "site", "cards": [c for c in cards if c]},
            {"title": "Last 24 h", "path": "day", "cards": [c for c in day if c]},
        ],
    }


async def furnish(ws: Websocket) -> None:
    """Configure the energy dashboard and create (or update) the site dashboard."""
    registry = await ws.command({"type": "config/entity_registry/list"})
    site = SiteEntities(registry)
    await ws.command({"type": "energy/save_prefs", **energy_preferences(site)})
    dashboards = await ws.command({"type": "lovelace/dashboards/list"})
    if not any(d.get("url_path") == DASHBOARD for d in dashboards):
        await ws.command(
            {
                "type": "lovelace/dashboards/create",
                "url_path": DASHBOARD,
                "title": "Victron site",
                "icon": "mdi:solar-power-variant",
                "show_in_sidebar": True,
                "require_admin": False,
                "mode": "storage",
            }
        )
    await ws.command({"type": "lovelace/config/save", "url_path": DASHBOARD, "config": site_dashboard(site)})
