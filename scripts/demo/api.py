"""Talking to the demo's Home Assistant over its HTTP API, as its frontend does."""

from __future__ import annotations

import asyncio
import contextlib
import time
from http import HTTPStatus
from typing import Any

import aiohttp

DOMAIN = "victron_gx_modbus"
FLOW_DONE = {"create_entry", "abort"}
FLOW_TIMEOUT = 120


class DemoError(Exception):
    """Home Assistant did not do what the demo needs."""


class HomeAssistantApi:
    """A session against one Home Assistant instance."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        """Use `session` for `base` (e.g. http://127.0.0.1:8123)."""
        self._session = session
        self._base = base
        self._client_id = f"{base}/"
        self._token: str | None = None

    @property
    def token(self) -> str:
        """The access token (after `log_in`)."""
        if self._token is None:
            msg = "not logged in"
            raise DemoError(msg)
        return self._token

    async def wait_until_up(self) -> None:
        """Wait until the frontend is served (Home Assistant has started)."""
        while True:
            try:
                async with self._session.get(f"{self._base}/manifest.json") as response:
                    if response.status == HTTPStatus.OK:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.5)

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:  # noqa: ANN401 - JSON
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        async with self._session.request(
            method, f"{self._base}{path}", headers=headers, **kwargs
        ) as response:
            if response.status >= HTTPStatus.BAD_REQUEST:
                msg = f"{method} {path}: HTTP {response.status}: {await response.text()}"
                raise DemoError(msg)
            return await response.json()

    async def log_in(self, username: str, password: str) -> None:
        """Create the owner on first start (onboarding), then get a token."""
        if not await self._onboarded():
            created = await self._json(
                "POST",
                "/api/onboarding/users",
                json={
                    "client_id": self._client_id,
                    "name": "Demo owner",
                    "username": username,
                    "password": password,
                    "language": "en",
                },
            )
            code = created["auth_code"]
        else:
            code = await self._login_flow(username, password)
        tokens = await self._json(
            "POST",
            "/auth/token",
            data={"grant_type": "authorization_code", "code": code, "client_id": self._client_id},
        )
        self._token = tokens["access_token"]

    async def _onboarded(self) -> bool:
        """Whether the owner exists (the onboarding API is gone once onboarding is done)."""
        async with self._session.get(f"{self._base}/api/onboarding") as response:
            if response.status == HTTPStatus.NOT_FOUND:
                return True
            steps = await response.json()
        return any(step["step"] == "user" and step["done"] for step in steps)

    async def _login_flow(self, username: str, password: str) -> str:
        flow = await self._json(
            "POST",
            "/auth/login_flow",
            json={
                "client_id": self._client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": self._client_id,
            },
        )
        done = await self._json(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            json={"client_id": self._client_id, "username": username, "password": password},
        )
        if done.get("type") != "create_entry":
            msg = f"cannot log in as {username}: {done}"
            raise DemoError(msg)
        result: str = done["result"]
        return result

    async def websocket(self) -> Websocket:
        """An authenticated websocket API connection (after `log_in`)."""
        connection = await self._session.ws_connect(f"{self._base}/api/websocket")
        await connection.receive_json()
        await connection.send_json({"type": "auth", "access_token": self.token})
        if (await connection.receive_json()).get("type") != "auth_ok":
            msg = "websocket authentication failed"
            raise DemoError(msg)
        return Websocket(connection)

    async def gx_entries(self) -> list[dict[str, Any]]:
        """The integration's config entries."""
        entries: list[dict[str, Any]] = await self._json(
            "GET", f"/api/config/config_entries/entry?domain={DOMAIN}"
        )
        return entries

    async def add_gx(self, host: str, port: int) -> dict[str, Any]:
        """Add the GX through the integration's config flow, as a user would."""
        result = await self._json(
            "POST",
            "/api/config/config_entries/flow",
            json={"handler": DOMAIN},
        )
        deadline = time.monotonic() + FLOW_TIMEOUT
        while result["type"] not in FLOW_DONE:
            if time.monotonic() > deadline:
                msg = f"the config flow did not finish: {result}"
                raise DemoError(msg)
            path = f"/api/config/config_entries/flow/{result['flow_id']}"
            if result["type"] == "form":
                answer = {"host": host, "port": port} if result["step_id"] == "user" else {}
                result = await self._json("POST", path, json=answer)
            else:  # a progress step: ask again until it has moved on
                await asyncio.sleep(0.3)
                result = await self._json("GET", path)
        if result["type"] != "create_entry":
            msg = f"the config flow ended without an entry: {result}"
            raise DemoError(msg)
        entry: dict[str, Any] = result["result"]
        return entry

    async def options_flow(self, entry_id: str) -> dict[str, Any]:
        """Open an entry's options flow (its first step)."""
        result: dict[str, Any] = await self._json(
            "POST", "/api/config/config_entries/options/flow", json={"handler": entry_id}
        )
        return result

    async def options_flow_step(self, flow_id: str, answer: dict[str, Any]) -> dict[str, Any]:
        """Answer an options flow's step (a form's fields, or a menu's `next_step_id`)."""
        result: dict[str, Any] = await self._json(
            "POST", f"/api/config/config_entries/options/flow/{flow_id}", json=answer
        )
        return result

    async def sweep_percent(self, entry_id: str) -> int:
        """How far the entry's background sweep is (100: done), as its options menu shows it."""
        menu = await self.options_flow(entry_id)
        await self._json("DELETE", f"/api/config/config_entries/options/flow/{menu['flow_id']}")
        return int(menu["description_placeholders"]["sweep_percent"])

    async def states(self) -> list[dict[str, Any]]:
        """Every entity's state."""
        states: list[dict[str, Any]] = await self._json("GET", "/api/states")
        return states

    async def wait_for_numbers(self, entity_ids: list[str]) -> None:
        """Wait until every one of `entity_ids` has a number for its state (it is set up and polled)."""
        wanted = set(entity_ids)
        while True:
            polled = set()
            for state in await self.states():
                if state["entity_id"] in wanted:
                    with contextlib.suppress(ValueError):
                        float(state["state"])
                        polled.add(state["entity_id"])
            if polled == wanted:
                return
            await asyncio.sleep(1.0)


class Websocket:
    """Home Assistant's websocket API: commands, and counting state writes of chosen entities."""

    def __init__(self, connection: aiohttp.ClientWebSocketResponse) -> None:
        """Wrap an authenticated connection."""
        self._ws = connection
        self._next = 1
        self.entity_ids: set[str] = set()
        """Entities whose state writes `writes` counts."""
        self.writes = 0

    async def command(self, message: dict[str, Any]) -> Any:  # noqa: ANN401 - JSON
        """Send a command and return its result (events seen meanwhile are counted)."""
        ident = self._next
        self._next += 1
        await self._ws.send_json({"id": ident, **message})
        while True:
            reply = await self._ws.receive_json()
            if reply.get("type") == "event":
                self._count(reply)
                continue
            if reply.get("id") == ident:
                if not reply.get("success", True):
                    msg = f"{message['type']}: {reply}"
                    raise DemoError(msg)
                return reply.get("result")

    async def entry_entities(self, entry_id: str) -> list[dict[str, Any]]:
        """The entity registry's entries of one config entry."""
        registry: list[dict[str, Any]] = await self.command({"type": "config/entity_registry/list"})
        return [item for item in registry if item.get("config_entry_id") == entry_id]

    async def enable(self, entity_ids: list[str]) -> float:
        """Enable entities, as a user would; returns the seconds until Home Assistant reloads their entry."""
        delay = 0.0
        for entity_id in entity_ids:
            update = {"entity_id": entity_id, "disabled_by": None}
            reply = await self.command({"type": "config/entity_registry/update", **update})
            delay = max(delay, float(reply.get("reload_delay") or 0))
        return delay

    async def enable_every_entity(self, entry_id: str) -> None:
        """Enable every disabled entity of a config entry, as a user would (HA reloads it 30 s later)."""
        for item in await self.entry_entities(entry_id):
            if item.get("disabled_by"):
                update = {"entity_id": item["entity_id"], "disabled_by": None}
                await self.command({"type": "config/entity_registry/update", **update})

    async def subscribe_state_changes(self) -> None:
        """Receive state_changed events (counted in `writes`)."""
        await self.command({"type": "subscribe_events", "event_type": "state_changed"})

    def _count(self, reply: dict[str, Any]) -> None:
        if reply["event"]["data"].get("entity_id") in self.entity_ids:
            self.writes += 1

    async def count_events_for(self, seconds: float) -> None:
        """Count state writes of `entity_ids` for `seconds`."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while True:
                    self._count(await self._ws.receive_json())
