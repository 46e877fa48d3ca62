"""Contract for message content (#13): the client accepts a message's content for a model (its
pre-request checks raise no ``BadInput``) if and only if the emulator answers 200 to it. What the
client accepts is sent as the client shapes it; what it refuses is sent raw, bypassing the client.

The emulator states the service's rules itself (:mod:`workersai.local.rules.ai`), the client its own
(:mod:`workersai.content`); this test holds the two together."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from workersai import BadInput
from workersai.chat import build_chat_payload
from workersai.local import LocalEmulator

from ..images import RED_URL

MODELS = [
    "@cf/meta/llama-4-scout-17b-16e-instruct",
    "@cf/meta/llama-3.2-11b-vision-instruct",
    "@cf/meta/llama-3.1-8b-instruct-fast",
]
TEXT = {"type": "text", "text": "What is this?"}


def image(url: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url}}


CONTENTS: dict[str, tuple[str, Any]] = {
    "string": ("user", "What is this?"),
    "text parts": ("user", [TEXT, {"type": "text", "text": "Say it briefly."}]),
    "one part": ("user", TEXT),
    "data url image": ("user", [TEXT, image(RED_URL)]),
    "https image": ("user", [TEXT, image("https://example.com/cat.png")]),
    "two images": ("user", [image(RED_URL), image(RED_URL)]),
    "http image": ("user", [image("http://example.com/cat.png")]),
    "non-image data url": ("user", [image("data:text/plain;base64,aGk=")]),
    "bad base64": ("user", [image("data:image/png;base64,@@@")]),
    "unknown part": ("user", [{"type": "input_audio", "input_audio": {}}]),
    "text part without text": ("user", [{"type": "text"}]),
    "image in a system message": ("system", [image(RED_URL)]),
    "number": ("user", 7),
}


@pytest.fixture(scope="module")
def http(emulator: LocalEmulator) -> Iterator[httpx.Client]:
    base = f"{emulator.base_url}/accounts/{emulator.account_id}"
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {emulator.token}"}, timeout=60) as c:
        yield c


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("case", list(CONTENTS))
def test_client_accepts_content_iff_the_emulator_does(http: httpx.Client, model: str, case: str) -> None:
    role, content = CONTENTS[case]
    messages = [{"role": role, "content": content}]
    if role != "user":
        messages.append({"role": "user", "content": "What is it?"})
    try:
        body, accepted = build_chat_payload(messages, model=model, max_tokens=8), True
    except BadInput:
        body, accepted = {"messages": messages, "max_tokens": 8}, False
    response = http.post(f"/ai/run/{model}", json=body)
    assert (response.status_code == 200) == accepted, (case, model, accepted, response.text)
    if not accepted:
        assert response.json()["errors"][0]["code"] == 5006
