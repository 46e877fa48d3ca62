"""Record and replay (``workersai-local --record DIR`` / ``--replay DIR``): a second emulator stands in
for Cloudflare, a recorder in front of it writes the exchanges, then a replay answers the same calls
with that upstream stopped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from workersai import BadInput, WorkersAI
from workersai.local import LocalEmulator
from workersai.local.cassette import Cassette, CassetteError, canonical_body, decode_body

RECORDED_ACCOUNT = "f" * 32
"""The account id the recording client uses, as a user's real one; it must not reach the files."""
INDEX = "replayed-docs"
MODEL = "@cf/meta/llama-3.1-8b-instruct-fast"


def session(client: WorkersAI, base_url: str, account: str, token: str) -> dict[str, Any]:
    """The calls recorded and then replayed: chat, a stream, embeddings (also OpenAI's shape, the model
    in the body), a Vectorize write and query."""
    answer = client.chat("What is Vectorize?", model=MODEL, max_tokens=8, temperature=0)
    openai = httpx.post(
        f"{base_url}/accounts/{account}/ai/v1/embeddings",
        json={"model": "@cf/baai/bge-small-en-v1.5", "input": ["openai shape"]},
        headers={"Authorization": f"Bearer {token}"},
    )
    pieces = [c.text for c in client.stream_chat("Name a colour.", model=MODEL, max_tokens=6, temperature=0)]
    vectors = client.embed(["a cat", "a dog", "a car"])
    vz = client.vectorize
    vz.create_index(INDEX, dimensions=len(vectors[0]), metric="cosine")
    vz.insert(
        INDEX, [{"id": f"v{i}", "values": v, "metadata": {"n": i}} for i, v in enumerate(vectors)], wait=True
    )
    matches = vz.query(INDEX, vectors[1], top_k=2, return_metadata="all")
    return {
        "answer": answer.text,
        "openai": (openai.status_code, openai.json()["data"][0]["embedding"][:4]),
        "pieces": pieces,
        "vectors": [list(v) for v in vectors],
        "matches": [(m.id, m.metadata) for m in matches.matches],
    }


@dataclass
class Recording:
    directory: Path
    token: str
    recorded: dict[str, Any]


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recording]:
    directory = tmp_path_factory.mktemp("recording")
    with (
        LocalEmulator(mutation_delay_ms=1) as cloudflare,
        LocalEmulator(
            record_dir=directory,
            upstream=cloudflare.url,
            upstream_account_id=RECORDED_ACCOUNT,
            upstream_token=cloudflare.token,
        ) as recorder,
        recorder.client() as client,  # the user's own credentials, forwarded
    ):
        recorded = session(client, recorder.base_url, RECORDED_ACCOUNT, cloudflare.token)
    yield Recording(directory, cloudflare.token, recorded)


@pytest.fixture(scope="module")
def replay(recording: Recording) -> Iterator[LocalEmulator]:
    with LocalEmulator(replay_dir=recording.directory) as emu:
        yield emu


def test_the_files_hold_neither_the_token_nor_the_account_id(recording: Recording) -> None:
    files = sorted(recording.directory.glob("*.json"))
    assert len(files) >= 7  # chat, stream, embed, create, insert, at least one wait, query
    for file in files:
        text = file.read_text()
        assert recording.token not in text and RECORDED_ACCOUNT not in text, file.name
        assert "authorization" not in text.lower()
    exchanges = [json.loads(f.read_text()) for f in files]
    assert all(e["request"]["path"].startswith("/client/v4/accounts/{account_id}/") for e in exchanges)
    stream = next(e for e in exchanges if e["response"]["body"] and "sse" in e["response"]["body"])
    assert stream["model"] == MODEL and stream["response"]["body"]["sse"].rstrip().endswith("data: [DONE]")
    insert = next(e for e in exchanges if e["request"]["path"].endswith("/insert"))
    assert len(insert["request"]["body"]["ndjson"]) == 3  # by content, readable


def test_a_replay_answers_the_same_calls_with_the_upstream_stopped(
    recording: Recording, replay: LocalEmulator
) -> None:
    with replay.client(account_id="0" * 32) as client:  # any account id matches
        assert session(client, replay.base_url, "0" * 32, replay.token) == recording.recorded
    assert recording.recorded["matches"][0][0] == "v1"
    board = httpx.get(f"{replay.url}/__local__/", headers={"Authorization": f"Bearer {replay.token}"}).text
    assert f"replaying {recording.directory}" in board and "/ai/v1/embeddings" in board


def test_a_request_not_recorded_names_itself_the_directory_and_the_fix(
    recording: Recording, replay: LocalEmulator
) -> None:
    with replay.client() as client, pytest.raises(BadInput) as caught:
        client.chat("Something never asked.", model=MODEL, max_tokens=8, temperature=0)
    message = str(caught.value)
    assert f"no recorded exchange in {recording.directory} matches POST" in message
    assert f"/ai/run/{MODEL}" in message
    assert "differs at body.json.messages[0].content" in message
    assert f"workersai-local --record {recording.directory}" in message


def test_the_replay_checks_its_own_token(replay: LocalEmulator) -> None:
    url = f"{replay.base_url}/accounts/x/ai/run/{MODEL}"
    answer = httpx.post(url, json={"prompt": "hi"}, headers={"Authorization": "Bearer wrong"})
    assert answer.status_code == 401


def test_the_recorder_says_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, recording: Recording
) -> None:
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN", raising=False)
    with LocalEmulator(record_dir=tmp_path, upstream="http://127.0.0.1:9") as recorder:  # nothing there
        url = f"{recorder.base_url}/accounts/{RECORDED_ACCOUNT}/ai/run/{MODEL}"
        bare = httpx.post(url, json={"prompt": "hi"})
        assert bare.status_code == 401 and "no credentials to forward" in bare.text
        lost = httpx.post(url, json={"prompt": "hi"}, headers={"Authorization": "Bearer t0ken-of-a-user"})
        assert lost.status_code == 502 and "cannot reach the upstream http://127.0.0.1:9" in lost.text
    assert list(tmp_path.iterdir()) == []


def test_a_recorder_hands_out_the_users_own_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", RECORDED_ACCOUNT)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "the-users-own-token")
    recorder = LocalEmulator(record_dir=tmp_path)
    assert recorder.env()["CLOUDFLARE_ACCOUNT_ID"] == RECORDED_ACCOUNT
    assert recorder.env()["CLOUDFLARE_API_TOKEN"] == "the-users-own-token"
    assert LocalEmulator().env()["CLOUDFLARE_API_TOKEN"] != "the-users-own-token"


def test_a_missing_or_empty_directory_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(CassetteError, match="does not exist"):
        Cassette.load(tmp_path / "nowhere")
    with pytest.raises(CassetteError, match=f"{tmp_path} holds no recorded exchange"):
        Cassette.load(tmp_path)
    (tmp_path / "00001-GET-x.json").write_text("{}")
    with pytest.raises(CassetteError, match=r"00001-GET-x\.json is not a recorded exchange"):
        Cassette.load(tmp_path)


def test_bodies_compare_by_content() -> None:
    assert canonical_body(decode_body(b'{"a": 1, "b": [1, 2]}', "application/json")) == canonical_body(
        decode_body(b'{"b":[1,2],"a":1}', "application/json; charset=utf-8")
    )
    ndjson = decode_body(b'{"id": "a"}\n{"id": "b"}\n', "application/x-ndjson")
    assert ndjson == {"ndjson": [{"id": "a"}, {"id": "b"}]}

    def form(boundary: str) -> bytes:
        return (
            f'--{boundary}\r\nContent-Disposition: form-data; name="vectors"; filename="v.ndjson"\r\n'
            f'Content-Type: application/x-ndjson\r\n\r\n{{"id": "a"}}\n\r\n--{boundary}--\r\n'
        ).encode()

    one = decode_body(form("xyz"), "multipart/form-data; boundary=xyz")
    other = decode_body(form("abc123"), "multipart/form-data; boundary=abc123")
    assert one == other
    assert one is not None and one["multipart"][0]["body"] == {"ndjson": [{"id": "a"}]}


def test_the_command_refuses_a_directory_it_cannot_replay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from workersai.local.cli import main

    with pytest.raises(SystemExit) as stopped:
        main(["--replay", str(tmp_path), "--port", "0"])
    assert stopped.value.code == 2
    assert f"the replay directory {tmp_path} holds no recorded exchange" in capsys.readouterr().err
