"""Read the GX's own register map, ``dbus-modbustcp-attributes.csv``.

Each line is ``service,path,D-Bus type,unit,address,type,scale,R/W``. The unit
column of an enum holds ``code=text;code=text`` and may itself contain commas
(the server's map never quotes), so the line is split from both ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .enums import parse_enum
from .facts import ImportReport, service_type

if TYPE_CHECKING:
    from pathlib import Path


@dataclass(frozen=True)
class GxMapEntry:
    """One register as the GX serves it."""

    service_type: str
    address: int
    dbus_path: str
    enum: dict[str, str] | None


def read_gx_map(path: Path) -> dict[tuple[str, int], GxMapEntry]:
    """Every register of the map by (service type, address); reserved rows are left out."""
    entries = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        service, dbus_path, _dbus_type, rest = line.split(",", 3)
        unit, address, *_ = rest.rsplit(",", 4)
        if dbus_path == "RESERVED":
            continue
        entry = GxMapEntry(
            service_type=service_type(service),
            address=int(address),
            dbus_path=dbus_path,
            enum=parse_enum(unit, ImportReport(), where=f"{service} {address}"),
        )
        entries[entry.service_type, entry.address] = entry
    return entries
