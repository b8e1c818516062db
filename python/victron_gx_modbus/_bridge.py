"""Awaiting the core's tokio tasks from asyncio.

The core never calls into Python from its own threads: a finished task puts
its outcome in a queue and makes a socket readable. The running loop watches
that socket (``loop.add_reader``) and takes the outcomes on its own thread.
Cancelling an awaiting future aborts the task behind it. At interpreter exit
the core's runtime is shut down (``atexit``) before Python finalizes.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import weakref
from typing import TYPE_CHECKING, Any

from ._core import BridgeCore, shutdown, take_logs

if TYPE_CHECKING:
    from collections.abc import Callable

_KIND_VALUE = 0
_KIND_ERROR = 1
_KIND_EVENT = 2

atexit.register(shutdown)


class _LoopBridge:
    """The bridge of one event loop: futures and event callbacks by ticket."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.core = BridgeCore()
        self._futures: dict[int, asyncio.Future[Any]] = {}
        self._events: dict[int, Callable[[Any], object]] = {}
        loop.add_reader(self.core.fileno(), self._deliver)

    async def wait(self, ticket: int, on_event: Callable[[Any], object] | None) -> Any:  # noqa: ANN401 - what the task delivers
        """Await the outcome of `ticket`; cancelling the wait aborts the task."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._futures[ticket] = future
        if on_event is not None:
            self._events[ticket] = on_event
        try:
            return await future
        finally:
            self._futures.pop(ticket, None)
            self._events.pop(ticket, None)
            self.core.cancel(ticket)  # nothing happens when the task has ended

    def _deliver(self) -> None:
        """Hand every delivered outcome to its future (on the loop's thread)."""
        for ticket, kind, payload in self.core.take():
            future = self._futures.get(ticket)
            if future is None or future.done():
                continue
            if kind == _KIND_EVENT:
                self._event(ticket, future, payload)
            elif kind == _KIND_ERROR:
                future.set_exception(payload)
            else:
                future.set_result(payload)
        _forward_logs()

    def _event(self, ticket: int, future: asyncio.Future[Any], event: object) -> None:
        callback = self._events.get(ticket)
        if callback is None:
            return
        try:
            callback(event)
        except Exception as err:  # noqa: BLE001 - the caller's callback: its error ends the call
            self._events.pop(ticket, None)
            self.core.cancel(ticket)
            future.set_exception(err)


_bridges: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopBridge] = weakref.WeakKeyDictionary()


def _bridge() -> _LoopBridge:
    loop = asyncio.get_running_loop()
    bridge = _bridges.get(loop)
    if bridge is None:
        bridge = _bridges[loop] = _LoopBridge(loop)
    return bridge


async def run(start: Callable[[BridgeCore], int], on_event: Callable[[Any], object] | None = None) -> Any:  # noqa: ANN401 - typed by callers
    """Start a core task with `start(bridge)` (which returns its ticket) and await it.

    `on_event` receives the task's progress events on the loop; if it raises,
    the task is aborted and the call raises that error.
    """
    bridge = _bridge()
    return await bridge.wait(start(bridge.core), on_event)


def _forward_logs() -> None:
    """Hand the core's queued log records to Python logging."""
    for level, name, message in take_logs():
        logger = logging.getLogger(name)
        if logger.isEnabledFor(level):
            logger.log(level, "%s", message)
