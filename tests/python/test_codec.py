"""The codec through the Python surface: values, sentinels and typed errors."""

from __future__ import annotations

import pytest
from victron_gx_modbus import CodecError, VictronError, decode, encode


def test_decode_scaled_and_signed() -> None:
    assert decode("int16", 10, [0xFFFE]) == pytest.approx(-0.2)
    assert decode("uint16", -10, [123]) == pytest.approx(-12.3)
    assert decode("uint32", 1, [1, 2]) == 65538
    assert decode("string[3]", 1, [0x4142, 0x4300, 0]) == "ABC"


def test_not_available_is_none() -> None:
    assert decode("uint16", 1, [0xFFFF]) is None
    assert decode("int32", 1, [0x7FFF, 0xFFFF]) is None


def test_encode_round_trips() -> None:
    assert encode("int16", 10, -0.2) == [0xFFFE]
    assert encode("int32", 1, -2) == [0xFFFF, 0xFFFE]
    assert encode("string[2]", 1, "Hi") == [0x4869, 0]


@pytest.mark.parametrize(
    ("register_type", "scale", "value"),
    [
        ("uint16", 10, 6553.5),
        ("int16", 1, -32769),
        ("uint16", 1, float("nan")),
        ("string[1]", 1, "too long"),
        ("uint16", 1, "text"),
        ("float", 1, 1.0),
    ],
)
def test_bad_writes_raise_codec_error(register_type: str, scale: float, value: float | str) -> None:
    with pytest.raises(CodecError):
        encode(register_type, scale, value)


def test_bad_words_raise_codec_error_not_panic() -> None:
    with pytest.raises(CodecError, match="needs 2 words"):
        decode("uint32", 1, [1])
    with pytest.raises(VictronError):
        decode("string[0]", 1, [])
