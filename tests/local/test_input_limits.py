"""Input limits of the emulator over raw HTTP (issue #12.8): bodies capped from Content-Length before
reading, stalled bodies timed out, and malformed JSON (NaN/Infinity literals, 400-digit integers,
5,000-deep nesting) answered 400 in the envelope, never 500 and never a hang."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from workersai.local import LocalEmulator

DIMS = 3


@pytest.fixture(scope="module")
def emu() -> Iterator[LocalEmulator]:
    with LocalEmulator(mutation_delay_ms=0, body_timeout_s=0.3) as e:
        http = httpx.Client(base_url=e.base_url, headers={"Authorization": f"Bearer {e.token}"})
        created = http.post(
            f"/accounts/{e.account_id}/vectorize/v2/indexes",
            json={"name": "limits", "config": {"dimensions": DIMS, "metric": "cosine"}},
        )
        assert created.status_code == 200, created.text
        http.close()
        yield e


def vz(emu: LocalEmulator, what: str) -> str:
    return f"/client/v4/accounts/{emu.account_id}/vectorize/v2/indexes/limits/{what}"


def raw_request(
    emu: LocalEmulator, path: str, headers: dict[str, str], body: bytes, wait: float = 5.0
) -> bytes:
    """Send a request by hand (headers may promise more body than is sent) and read the answer."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {emu.token}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    with socket.create_connection((emu.host, emu.port), timeout=wait) as sock:
        sock.sendall(head.encode() + body)
        answer = b""
        try:
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        except TimeoutError:
            pass
    return answer


def status_and_error(answer: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    envelope = json.loads(body)
    assert envelope["success"] is False and envelope["result"] is None, envelope
    return status, envelope["errors"][0]


@pytest.mark.parametrize(
    ("what", "declared"),
    [("query", 300 * 1000 * 1000), ("upsert", 1000 * 1000 * 1000), ("get_by_ids", 11 * 1000 * 1000)],
)
def test_a_body_over_the_cap_is_refused_from_its_content_length(
    emu: LocalEmulator, what: str, declared: int
) -> None:
    started = time.monotonic()
    answer = raw_request(
        emu,
        vz(emu, what),
        {"Content-Type": "application/json", "Content-Length": str(declared)},
        b'{"vector": [',
    )
    status, error = status_and_error(answer)
    assert (status, error["code"]) == (413, 3006)
    assert time.monotonic() - started < 2  # answered without reading (or waiting for) the body


def test_an_ai_body_over_the_cap_is_refused(emu: LocalEmulator) -> None:
    path = f"/client/v4/accounts/{emu.account_id}/ai/run/@cf/baai/bge-small-en-v1.5"
    answer = raw_request(
        emu, path, {"Content-Type": "application/json", "Content-Length": str(50 * 10**6)}, b"{"
    )
    assert status_and_error(answer)[0] == 413


def test_a_chunked_body_is_capped_while_it_is_read(emu: LocalEmulator) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"ids": ["'
        for _ in range(11):
            yield b"x" * 1_000_000
        yield b'"]}'

    with httpx.Client(headers={"Authorization": f"Bearer {emu.token}"}) as http:
        try:
            response = http.post(emu.url + vz(emu, "get_by_ids"), content=chunks())
        except httpx.TransportError:  # the server may close while the rest is still being sent
            return
    assert response.status_code == 413
    assert response.json()["errors"][0]["code"] == 3006


@pytest.mark.parametrize("what", ["upsert", "query"])
def test_a_stalled_body_is_answered_408(emu: LocalEmulator, what: str) -> None:
    started = time.monotonic()
    answer = raw_request(
        emu, vz(emu, what), {"Content-Type": "application/json", "Content-Length": "1000"}, b'{"id": "a"'
    )
    status, error = status_and_error(answer)
    assert (status, error["code"]) == (408, 3007)
    assert time.monotonic() - started < 3


def test_a_stalled_body_through_httpx(emu: LocalEmulator) -> None:
    def stall() -> Iterator[bytes]:
        yield b'{"vector": [1, 2'
        time.sleep(1.5)
        yield b", 3]}"

    with httpx.Client(headers={"Authorization": f"Bearer {emu.token}"}) as http:
        try:
            response = http.post(emu.url + vz(emu, "query"), content=stall())
        except httpx.TransportError:  # closed after the 408, before the last chunk
            return
    assert response.status_code == 408


@pytest.mark.parametrize(
    "body",
    [
        b'{"vector": [NaN, 1, 2]}',
        b'{"vector": [Infinity, 1, 2]}',
        b'{"vector": [-Infinity, 1, 2]}',
        b'{"vector": [1e999, 1, 2]}',
        b'{"vector": [1e39, 1, 2]}',
        b'{"vector": [1, 2, 3], "topK": 1' + b"0" * 400 + b"}",
        b'{"vector": [' + b"1" * 400 + b", 2, 3]}",
        b'{"vector": [1, 2, 3], "filter": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5000 + b"}",
        b'{"vector": [1, 2, 3], "filter": {"a": ' + b"[" * 5000 + b"]" * 5000 + b"}}",
        b'{"vector": [1, 2, 3], "filter": {"a": "\\ud800"}}',
        b'{"vector": [1, 2, 3], "namespace": "\\udfff"}',
    ],
)
def test_malformed_query_bodies_are_400_in_the_envelope(emu: LocalEmulator, body: bytes) -> None:
    with httpx.Client(headers={"Authorization": f"Bearer {emu.token}"}) as http:
        response = http.post(emu.url + vz(emu, "query"), content=body)
    assert response.status_code == 400, response.text
    envelope = response.json()
    assert envelope["success"] is False and envelope["result"] is None
    assert envelope["errors"][0]["code"] in (40026, 40025)


@pytest.mark.parametrize(
    "line",
    [
        b'{"id": "a", "values": [NaN, 1, 2]}',
        b'{"id": "a", "values": [1' + b"0" * 400 + b", 1, 2]}",
        b'{"id": "a", "values": [1, 2, 3], "metadata": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5000 + b"}",
        b'{"id": "a", "values": [1, 2, 3], "metadata": ' + b'{"a": ' * 300 + b"1" + b"}" * 300 + b"}",
        b'{"id": "\\ud800", "values": [1, 2, 3]}',
    ],
)
def test_malformed_write_lines_are_400_in_the_envelope(emu: LocalEmulator, line: bytes) -> None:
    with httpx.Client(headers={"Authorization": f"Bearer {emu.token}"}) as http:
        response = http.post(
            emu.url + vz(emu, "upsert"), content=line, headers={"Content-Type": "application/x-ndjson"}
        )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["code"] in (40023, 40026)


@pytest.mark.parametrize(
    "body", [b'{"text": "a", "pooling": NaN}', b'{"text": ' + b"[" * 5000 + b"]" * 5000 + b"}", b"1" * 400]
)
def test_malformed_ai_bodies_are_400(emu: LocalEmulator, body: bytes) -> None:
    with httpx.Client(headers={"Authorization": f"Bearer {emu.token}"}) as http:
        response = http.post(
            f"{emu.base_url}/accounts/{emu.account_id}/ai/run/@cf/baai/bge-small-en-v1.5", content=body
        )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["code"] == 5006


@pytest.mark.parametrize(
    "bad", [[True, 1.0], [1.0, "2"], [float("nan")], [float("inf")], [1e39], [10**400], [1.0, None], [[1.0]]]
)
def test_vector_values_are_checked_at_c_speed_with_the_same_refusals(bad: list[object]) -> None:
    """The fast path (element types, then numpy's range check) refuses what the per-value loop did."""
    from workersai.local.rules import Rejected
    from workersai.local.rules.vectorize import values

    for good in ([0.1, 2, -3.5], [3.4028235e38], [0, 0.0]):
        assert values(good, "v") is good
    with pytest.raises(Rejected):
        values(bad, "v")
