"""What the command line accepts: each type turns typed text into a value or a one-line usage error."""

from __future__ import annotations

import argparse
import ipaddress
import math
import re
from pathlib import Path
from typing import NoReturn

from .mqtt import MqttOptions
from .simulator import Simulator
from .unit_ids import parse_unit_id, parse_unit_list

DEFAULT_PORT = 502
HIGHEST_PORT = 65535
LONGEST_LATENCY_MS = 60_000.0  # the simulator's own limit


class ArgumentParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (exit 2)."""

    def error(self, message: str) -> NoReturn:
        """Print `PROG: error: MESSAGE` with a pointer to the help, and exit 2."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _port(text: str, lowest: int) -> int:
    if not (text.isascii() and text.isdigit() and lowest <= int(text) <= HIGHEST_PORT):
        msg = f"port {text!r} is not {lowest}-{HIGHEST_PORT}"
        raise argparse.ArgumentTypeError(msg)
    return int(text)


def address(text: str) -> tuple[str, int]:
    """HOST, HOST:PORT, [IPv6]:PORT, [IPv6] or a bare IPv6 address -> (host, port), port 502 by default.

    A bare address with several colons is IPv6, never HOST:PORT; a host name
    is checked loosely (not empty, no spaces) and resolved when connecting.
    """
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        valid = bool(bracket) and _is_ipv6(host) and rest[:1] in {"", ":"}
        port_text = rest[1:] if rest else None
    elif text.count(":") > 1:
        host, valid, port_text = text, _is_ipv6(text), None
    else:
        host, colon, port_text = text.partition(":")
        valid = bool(host) and not any(char.isspace() for char in host)
        port_text = port_text if colon else None
    if not valid:
        msg = f"{text!r} is not HOST, HOST:PORT, [IPv6]:PORT or an IPv6 address"
        raise argparse.ArgumentTypeError(msg)
    return host, DEFAULT_PORT if port_text is None else _port(port_text, lowest=1)


def format_address(host: str, port: int) -> str:
    """`host:port`, with an IPv6 host in brackets (what `address` reads back)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def listen_host(text: str) -> str:
    """An IP address for the simulator to listen on."""
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        ip = None
    if ip is None or (isinstance(ip, ipaddress.IPv6Address) and ip.scope_id):
        msg = f"{text!r} is not an IP address to listen on (e.g. 127.0.0.1, 0.0.0.0, ::1)"
        raise argparse.ArgumentTypeError(msg)
    return text


def port(text: str) -> int:
    """A TCP port to connect to, 1-65535."""
    return _port(text, lowest=1)


def listen_port(text: str) -> int:
    """A TCP port to listen on, 0-65535 (0: any free port)."""
    return _port(text, lowest=0)


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        msg = f"{text!r} is not {what}"
        raise argparse.ArgumentTypeError(msg)
    return value


def seconds(text: str) -> float:
    """A positive number of seconds."""
    value = _number(text, "a number of seconds")
    if value <= 0:
        msg = f"{text!r} is not a positive number of seconds"
        raise argparse.ArgumentTypeError(msg)
    return value


def milliseconds(text: str) -> float:
    """A delay of 0-60000 ms."""
    value = _number(text, "a number of milliseconds")
    if not 0 <= value <= LONGEST_LATENCY_MS:
        msg = f"{text!r} is not 0-{LONGEST_LATENCY_MS:.0f} ms"
        raise argparse.ArgumentTypeError(msg)
    return value


def count(text: str) -> int:
    """A positive whole number."""
    if not (text.isascii() and text.isdigit() and int(text) > 0):
        msg = f"{text!r} is not a positive whole number"
        raise argparse.ArgumentTypeError(msg)
    return int(text)


def unit_list(text: str) -> list[int]:
    """A list of unit IDs 0-247, e.g. `100,227,226` (the GX's own rule: `unit_ids.parse_unit_list`)."""
    try:
        units = parse_unit_list(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    if not units:
        msg = f"{text!r} is not a list of unit IDs"
        raise argparse.ArgumentTypeError(msg)
    return units


def number(text: str) -> float:
    """A finite number."""
    return _number(text, "a number")


def positive(text: str) -> float:
    """A positive number."""
    value = _number(text, "a positive number")
    if value <= 0:
        msg = f"{text!r} is not a positive number"
        raise argparse.ArgumentTypeError(msg)
    return value


def unit_id(text: str) -> int:
    """One unit ID, 0-247."""
    try:
        return parse_unit_id(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def scenario(text: str) -> str:
    """A bundled scenario's name or the path of a `.json` scenario file."""
    names = Simulator.scenarios()
    if text not in names and not (text.endswith(".json") and Path(text).is_file()):
        msg = f"{text!r} is neither a bundled scenario ({', '.join(names)}) nor a .json file"
        raise argparse.ArgumentTypeError(msg)
    return text


def mqtt_fingerprint(text: str) -> str:
    """A SHA-256 certificate fingerprint: 64 hex digits, or 32 pairs joined by colons."""
    text = text.strip()
    if not re.fullmatch(r"[0-9A-Fa-f]{64}|[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){31}", text):
        msg = f"{text!r} is not a SHA-256 fingerprint (64 hex digits, optionally AB:CD:... pairs)"
        raise argparse.ArgumentTypeError(msg)
    return text


def mqtt_target(text: str) -> str:
    """`HOST`, `HOST:PORT` or `:PORT` of an MQTT broker (checked, returned as given)."""
    try:
        MqttOptions.parse(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text
