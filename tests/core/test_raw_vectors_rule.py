"""The raw rows' fast cut takes exactly the data arrays its rule names (``workersai.raw_vectors``'
docstring), checked against that rule written as a regular expression: compact rows of one length of
``-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE]-[0-9]+)?`` with no run of 39 digits. The cut checks the bytes as
bitsets in 64-bit words, so the cases are long enough to cross words, and every token is tried at
every offset within a word."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from workersai.raw_vectors import rows_from_body

NUMBER = rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE]-[0-9]+)?"
ROW = rb"\[" + NUMBER + rb"(?:," + NUMBER + rb")*\]"
ARRAY = re.compile(rb"\[" + ROW + rb"(?:," + ROW + rb")*\]")


def rule(data: bytes, count: int) -> list[bytes] | None:
    """The rows the rule takes, or None."""
    if not ARRAY.fullmatch(data) or re.search(rb"[0-9]{39}", data):
        return None
    rows = re.findall(ROW, data)
    if len(rows) != count or len({row.count(b",") for row in rows}) != 1:
        return None
    return rows


def cut(data: bytes, count: int) -> list[bytes] | None:
    body = b'{"result":{"shape":null,"data":' + data + b',"pooling":"mean"},"success":true}'
    try:
        return [bytes(row.json) for row in rows_from_body(body, count)]
    except ValueError:
        return None


DIGITS = st.one_of(
    st.text("0123456789", min_size=1, max_size=4), st.text("0123456789", min_size=1, max_size=42)
)
NUMBERS = st.one_of(
    st.sampled_from(["0", "-0", "0.5", "-0.0123456", "1", "42", "7.25e-3", "1E-5", "1e-05", "-3.5e-0"]),
    st.builds(
        lambda sign, whole, frac, exp: sign + whole + frac + exp,
        st.sampled_from(["", "-"]),
        st.one_of(
            st.just("0"), st.builds(str.__add__, st.sampled_from("123456789"), DIGITS.map(lambda d: d[1:]))
        ),
        st.one_of(st.just(""), DIGITS.map(lambda d: "." + d)),
        st.one_of(st.just(""), st.builds(lambda e, d: e + "-" + d, st.sampled_from("eE"), DIGITS)),
    ),
)
HOSTILE = st.sampled_from(
    [
        "01",
        "-01",
        "00",
        "1.",
        ".5",
        "1e",
        "1e5",
        "1e+5",
        "1E5",
        "1.2.3",
        "1e-5e-3",
        "1e-5.3",
        "1.5e-3.2",
        "1-2",
        "--1",
        "-",
        "e-5",
        "1 2",
        "NaN",
        "0x1F",
        "1..2",
        "[1]",
        "",
        "\u0661",
        "1,",
        "1e-",
        "-.5",
    ]
)


@st.composite
def arrays(draw: st.DrawFn) -> tuple[bytes, int]:
    count = draw(st.integers(1, 4))
    dims = draw(st.integers(1, 40))
    token = st.one_of(NUMBERS, NUMBERS, NUMBERS, HOSTILE) if draw(st.booleans()) else NUMBERS
    rows = []
    for _ in range(count if draw(st.integers(0, 5)) else draw(st.integers(1, count + 1))):
        length = dims if draw(st.integers(0, 12)) else draw(st.integers(1, dims + 1))
        rows.append("[" + ",".join(draw(token) for _ in range(length)) + "]")
    data = ("[" + ",".join(rows) + "]").encode()
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):  # a byte inserted, changed or deleted anywhere
        at = draw(st.integers(0, len(data) - 1))
        byte = draw(st.sampled_from(list(b"0123456789-.eE,[]+ x\\\x00\xd9")))
        edit = draw(st.sampled_from(["insert", "change", "delete"]))
        keep = at + 1 if edit != "insert" else at
        data = data[:at] + (b"" if edit == "delete" else bytes([byte])) + data[keep:]
    return data, count


@given(case=arrays())
@example(case=(b"[[" + b"1" * 38 + b"]]", 1))
@example(case=(b"[[" + b"1" * 39 + b"]]", 1))
@example(case=(b"[[0." + b"1" * 70 + b"]]", 1))
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_cut_takes_what_the_rule_takes(case: tuple[bytes, int]) -> None:
    data, count = case
    assert cut(data, count) == rule(data, count), data


def filler(size: int) -> str:
    """Numbers and their commas, ``size`` bytes (2 or more)."""
    return "1," * (size // 2) if size % 2 == 0 else "10," + "1," * ((size - 3) // 2)


TAKEN = ["0", "-0", "1e-0", "1E-5", "1e-05", "-0.0", "9" * 38, "0." + "9" * 38, "1.5e-" + "0" * 38]
REFUSED = ["9" * 39, "0." + "9" * 39, "1e-" + "0" * 39, "01", "-01", "1.2.3", "1e-5.3", "1e-5e-3"]
REFUSED += ["1.5e-3.2", "1e5", "1E+5", "1.", "0.", ".5", "1 2", " 1", "1\t", "1x", "\u0661", "-", "1e"]
REFUSED += ["1e-", "--1", "1-2", "1..2", "", "[1]", "1]", "[1"]


@pytest.mark.parametrize("token", TAKEN + REFUSED)
def test_a_token_at_every_offset_of_a_word(token: str) -> None:
    """Each token after 64 to 127 bytes of numbers (at every offset of a 64-bit word), with numbers
    after it, in the first row and the last of three."""
    for size in range(64, 128):
        row = "[" + filler(size) + token + "," + filler(70)[:-1] + "]"
        other = "[" + "0.5," * row.count(",") + "1]"
        for rows in ([row, other, other], [other, other, row]):
            data = ("[" + ",".join(rows) + "]").encode()
            taken = cut(data, 3)
            assert taken == rule(data, 3), (token, size)
            assert (taken is not None) == (token in TAKEN), (token, size)


def test_rows_are_counted_without_numpy_2s_popcount(monkeypatch: pytest.MonkeyPatch) -> None:
    """numpy 1.26 (the extra's floor) has no ``bitwise_count``: the commas are counted another way."""
    import numpy as np

    monkeypatch.delattr(np, "bitwise_count", raising=False)
    row = "[" + ",".join(["0.5"] * 40) + "]"
    assert cut(f"[{row},{row}]".encode(), 2) == [row.encode()] * 2
    assert cut(f"[{row},{row[:-5]}]]".encode(), 2) is None
