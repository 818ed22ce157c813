"""The table of the compiled kernel's exp (ce_cli/native/exp_table.h), recomputed word by word with mpmath."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import mpmath
import pytest

HEADER = Path(__file__).resolve().parent.parent / "ce_cli" / "native" / "exp_table.h"


def table(text: str, size: int) -> list[int]:
    """The words of ``ce_exp_table<size>`` as the header's ``text`` spells them."""
    match = re.search(rf"ce_exp_table{size}\[{2 * size}\] = \{{(.*?)\}};", text, re.S)
    assert match is not None, f"no table of {size} entries"
    return [int(word, 16) for word in re.findall(r"0x([0-9a-f]{16})u", match.group(1))]


def bits(value: float) -> int:
    result: int = struct.unpack("<Q", struct.pack("<d", value))[0]
    return result


def wrong_words(words: list[int], size: int) -> list[str]:
    """The entries of ``words`` that are not the tail and the shifted scale of 2^(j/size), computed at 50 digits."""
    shift = 52 - (size.bit_length() - 1)
    mpmath.mp.dps = 50
    wrong = []
    for j in range(size):
        exact = mpmath.power(2, mpmath.mpf(j) / size)
        rounded = float(exact)
        if words[2 * j] != bits(float((exact - rounded) / rounded)):
            wrong.append(f"tail {j}")
        if words[2 * j + 1] != (bits(rounded) + (512 << 52) - (j << shift)) % (1 << 64):
            wrong.append(f"scale {j}")
    return wrong


@pytest.mark.parametrize("size", [256, 16])
def test_every_word_is_the_rounded_power_of_two_and_its_tail(size: int) -> None:
    words = table(HEADER.read_text(), size)
    assert len(words) == 2 * size
    assert wrong_words(words, size) == []


def test_one_changed_bit_is_caught() -> None:
    text = HEADER.read_text()
    broken = text.replace("0x5feffb1afa5abcbfu", "0x5feffb1afa5abcbeu", 1)
    assert broken != text
    assert wrong_words(table(broken, 256), 256) == ["scale 1"]
