"""Content parts, images and ``max_completion_tokens`` at the emulator, over raw HTTP and through the
official ``openai`` SDK (no client code of ours in the request path; #13)."""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from workersai.local import LocalEmulator
from workersai.local.images import describe, read_facts

from ..images import RED, RED_URL, data_url, png, says_red_png

SCOUT = "@cf/meta/llama-4-scout-17b-16e-instruct"
LLAMA_VISION = "@cf/meta/llama-3.2-11b-vision-instruct"
TEXT_ONLY = "@cf/meta/llama-3.1-8b-instruct-fast"
CONTEXT = "Vectorize is a vector database. It stores embeddings and finds the nearest ones for a query."


@pytest.fixture
def http(emulator: LocalEmulator) -> Iterator[httpx.Client]:
    base = f"{emulator.base_url}/accounts/{emulator.account_id}"
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {emulator.token}"}, timeout=60) as c:
        yield c


def run(http: httpx.Client, model: str, body: dict[str, Any]) -> httpx.Response:
    return http.post(f"/ai/run/{model}", json=body)


def parts(*items: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": list(items)}]


TEXT = {"type": "text", "text": "What is in this image?"}


def image(url: str = RED_URL) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url}}


def refused(response: httpx.Response, words: str) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["code"] == 5006 and words in error["message"], error


def test_text_parts_are_accepted_by_a_text_model(http: httpx.Client) -> None:
    messages = [
        {"role": "system", "content": [{"type": "text", "text": CONTEXT}]},
        {"role": "user", "content": {"type": "text", "text": "What does Vectorize store?"}},  # one part
    ]
    response = run(http, TEXT_ONLY, {"messages": messages})
    assert response.status_code == 200, response.text
    assert "embeddings" in response.json()["result"]["response"]


def test_a_vision_model_is_told_what_the_image_bytes_state(http: httpx.Client) -> None:
    response = run(http, SCOUT, {"messages": parts(TEXT, image())})
    assert response.status_code == 200, response.text
    assert says_red_png(response.json()["result"]["response"])


def test_llama_vision_takes_its_image_field(http: httpx.Client) -> None:
    body = {"messages": [{"role": "user", "content": "Describe it"}], "image": list(png(5, 9, (0, 0, 250)))}
    answer = run(http, LLAMA_VISION, body).json()["result"]["response"]
    assert "5 pixels wide and 9 pixels high" in answer and "blue" in answer
    as_base64 = {"prompt": "Describe it", "image": base64.b64encode(RED).decode()}
    assert says_red_png(run(http, LLAMA_VISION, as_base64).json()["result"]["response"])


def test_an_image_url_is_not_fetched_and_the_answer_says_so(http: httpx.Client) -> None:
    answer = run(http, SCOUT, {"messages": parts(TEXT, image("https://example.com/cat.png"))}).json()
    assert "does not fetch URLs" in answer["result"]["response"]


@pytest.mark.parametrize(
    ("model", "body", "words"),
    [
        (TEXT_ONLY, {"messages": parts(TEXT, image())}, "does not accept image input"),
        ("@cf/openai/gpt-oss-20b", {"messages": parts(image())}, "does not accept image input"),
        (SCOUT, {"prompt": "x", "image": list(RED)}, "'/image' is not an input of this model"),
        (LLAMA_VISION, {"prompt": "x", "image": [1, 256]}, "between 0 and 255"),
        (SCOUT, {"messages": parts(image("data:text/plain;base64,aGk="))}, "not an image"),
        (SCOUT, {"messages": parts(image("data:image/png;base64,@@@"))}, "not valid base64"),
        (SCOUT, {"messages": parts(image("ftp://example.com/a.png"))}, "https URL or a base64 data URL"),
        (SCOUT, {"messages": parts({"type": "input_audio"})}, "'/messages/0/content/0'"),
        (SCOUT, {"messages": [{"role": "user", "content": 7}]}, "string or an array"),
    ],
)
def test_what_the_service_refuses(http: httpx.Client, model: str, body: dict[str, Any], words: str) -> None:
    refused(run(http, model, body), words)


def test_image_headers_give_format_and_size() -> None:
    jpeg = b"\xff\xd8\xff\xe0\x00\x04ab" + b"\xff\xc0\x00\x0b\x08" + struct.pack(">HH", 480, 640) + b"\x01"
    gif = b"GIF89a" + struct.pack("<HH", 16, 8) + b"\x00" * 8
    webp = (
        b"RIFF\x00\x00\x00\x00WEBPVP8X"
        + b"\x00" * 8
        + (99).to_bytes(3, "little")
        + (49).to_bytes(3, "little")
    )
    assert (read_facts(jpeg).format, read_facts(jpeg).width, read_facts(jpeg).height) == ("JPEG", 640, 480)
    assert (read_facts(gif).format, read_facts(gif).width, read_facts(gif).height) == ("GIF", 16, 8)
    assert (read_facts(webp).format, read_facts(webp).width, read_facts(webp).height) == ("WebP", 100, 50)
    assert "does not recognise" in describe(1, b"not an image", declared="image/png")
    assert read_facts(png(2, 2, (0, 0, 0))).mean_rgb == (0, 0, 0)


def test_max_completion_tokens_caps_generation_on_ai_run(http: httpx.Client) -> None:
    messages = [{"role": "system", "content": CONTEXT}, {"role": "user", "content": "What is Vectorize?"}]
    capped = run(http, TEXT_ONLY, {"messages": messages, "max_completion_tokens": 3}).json()["result"]
    assert 1 <= capped["usage"]["completion_tokens"] <= 3
    both = run(http, TEXT_ONLY, {"messages": messages, "max_tokens": 50, "max_completion_tokens": 4})
    assert both.json()["result"]["usage"]["completion_tokens"] <= 4  # the newer name wins
    refused(run(http, TEXT_ONLY, {"messages": messages, "max_completion_tokens": 0}), "max_completion_tokens")


def test_openai_endpoint_honours_max_completion_tokens(http: httpx.Client) -> None:
    body: dict[str, Any] = {
        "model": TEXT_ONLY,
        "messages": [
            {"role": "system", "content": CONTEXT},
            {"role": "user", "content": "What is Vectorize?"},
        ],
        "max_completion_tokens": 4,
    }
    answer = http.post("/ai/v1/chat/completions", json=body).json()
    assert answer["usage"]["completion_tokens"] <= 4 and answer["choices"][0]["finish_reason"] == "length"
    refused(http.post("/ai/v1/chat/completions", json={**body, "max_tokens": 9}), "at the same time")


@pytest.fixture
def openai_client(emulator: LocalEmulator) -> Iterator[Any]:
    openai = pytest.importorskip("openai", reason="the official SDK is in the 'dev' extra")
    base = f"{emulator.base_url}/accounts/{emulator.account_id}/ai/v1"
    with openai.OpenAI(base_url=base, api_key=emulator.token, max_retries=0) as client:
        yield client


def test_official_openai_sdk_with_content_parts_and_max_completion_tokens(openai_client: Any) -> None:
    completion = openai_client.chat.completions.create(
        model=TEXT_ONLY,
        messages=[
            {"role": "system", "content": CONTEXT},
            {"role": "user", "content": [{"type": "text", "text": "What does Vectorize store?"}]},
        ],
        max_completion_tokens=5,
    )
    assert completion.usage.completion_tokens <= 5
    assert completion.choices[0].message.content


def test_official_openai_sdk_sends_an_image_to_a_vision_model(openai_client: Any) -> None:
    completion = openai_client.chat.completions.create(
        model=SCOUT,
        messages=[{"role": "user", "content": [TEXT, image(data_url(png(6, 6, (0, 200, 0))))]}],
    )
    text = completion.choices[0].message.content
    assert "6 pixels wide and 6 pixels high" in text and "green" in text
