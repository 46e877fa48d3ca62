"""Message content as parts and images for vision models, through the core over HTTP (#13).

The emulator runs no vision model: it tells the generator what an image's bytes state (format, pixel
size, average colour), so an answer about the tiny red PNG made here must carry those facts, which it
can only have if the image reached the service in a form it read."""

from __future__ import annotations

import json
from typing import Any

import pytest

from workersai import BadInput, WorkersAI
from workersai.errors import ModelNotFound

from .conftest import RequestLog
from .images import RED, RED_URL, data_url, png, says_red_png

SCOUT = "@cf/meta/llama-4-scout-17b-16e-instruct"
GEMMA = "@cf/google/gemma-4-26b-a4b-it"
LLAMA_VISION = "@cf/meta/llama-3.2-11b-vision-instruct"
TEXT_ONLY = "@cf/meta/llama-3.1-8b-instruct-fast"


def with_image(url: str = RED_URL, text: str = "What is in this image?") -> list[dict[str, Any]]:
    return [
        {
            "role": "user",
            "content": [{"type": "text", "text": text}, {"type": "image_url", "image_url": {"url": url}}],
        }
    ]


def sent(log: RequestLog) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(log.requests[-1].content)
    return body


@pytest.mark.parametrize("model", [SCOUT, GEMMA, LLAMA_VISION])
def test_a_vision_model_answers_from_the_image(
    logged_client: WorkersAI, request_log: RequestLog, model: str
) -> None:
    result = logged_client.chat(with_image(), model=model)
    assert says_red_png(result.text), result.text
    body = sent(request_log)
    if model == LLAMA_VISION:  # its page documents the top-level 'image' bytes and string content
        assert body["image"] == list(RED)
        assert body["messages"] == [{"role": "user", "content": "What is in this image?"}]
    else:  # image_url content parts (workers-types' *_Messages for Llama 4 Scout and Gemma 3)
        assert "image" not in body
        assert body["messages"][0]["content"][1] == {"type": "image_url", "image_url": {"url": RED_URL}}


async def test_async_and_streamed_answers_carry_the_image_facts(client: WorkersAI) -> None:
    result = await client.achat(with_image(), model=SCOUT)
    assert says_red_png(result.text)
    streamed = "".join([c.text async for c in client.astream_chat(with_image(), model=LLAMA_VISION)])
    assert says_red_png(streamed), streamed


def test_another_image_gives_another_answer(client: WorkersAI) -> None:
    blue = data_url(png(7, 4, (0, 0, 255)))
    text = client.chat(with_image(blue), model=GEMMA).text
    assert "7 pixels wide and 4 pixels high" in text and "blue" in text and "red" not in text


def test_text_parts_are_joined_into_one_string(logged_client: WorkersAI, request_log: RequestLog) -> None:
    messages = [
        {"role": "system", "content": [{"type": "text", "text": "Vectorize stores vectors."}]},
        {
            "role": "user",
            "content": [{"type": "text", "text": "What does"}, {"type": "text", "text": "it do?"}],
        },
    ]
    result = logged_client.chat(messages, model=TEXT_ONLY)
    assert "Vectorize stores vectors" in result.text
    assert [m["content"] for m in sent(request_log)["messages"]] == [
        "Vectorize stores vectors.",
        "What does\nit do?",
    ]


def test_a_text_only_model_is_refused_an_image_before_any_request(
    logged_client: WorkersAI, request_log: RequestLog
) -> None:
    with pytest.raises(BadInput, match="text only"):
        logged_client.chat(with_image(), model=TEXT_ONLY)
    with pytest.raises(BadInput, match="text only"):
        list(logged_client.stream_chat(with_image(), model="@cf/openai/gpt-oss-20b"))
    assert request_log.requests == []


def test_a_model_the_catalog_lacks_gets_the_parts_as_given(
    logged_client: WorkersAI, request_log: RequestLog
) -> None:
    with pytest.raises(ModelNotFound):  # the emulator serves the catalog only: 5007, as the service does
        logged_client.chat(with_image(), model="@cf/example/vision-next")
    assert sent(request_log)["messages"][0]["content"][1]["image_url"]["url"] == RED_URL


@pytest.mark.parametrize(
    ("messages", "model", "message"),
    [
        (with_image("http://example.com/a.png"), SCOUT, "https:// or a data: URL"),
        (with_image("data:text/plain;base64,aGk="), SCOUT, "image/\\* media type"),
        (with_image("data:image/png;base64,not base64!"), SCOUT, "not valid base64"),
        (with_image("data:image/png,raw"), SCOUT, "base64-encoded"),
        ([{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}], SCOUT, "'url'"),
        ([{"role": "user", "content": [{"type": "input_audio", "data": "x"}]}], SCOUT, "'input_audio'"),
        ([{"role": "user", "content": [{"type": "text"}]}], SCOUT, "'text' string"),
        ([{"role": "system", "content": with_image()[0]["content"]}], SCOUT, "user messages only"),
        (with_image("https://example.com/a.png"), LLAMA_VISION, "not a URL"),
        (with_image() + with_image(), LLAMA_VISION, "one image"),
    ],
)
def test_bad_parts_fail_before_any_request(
    logged_client: WorkersAI, request_log: RequestLog, messages: Any, model: str, message: str
) -> None:
    with pytest.raises(BadInput, match=message):
        logged_client.chat(messages, model=model)
    assert request_log.requests == []
