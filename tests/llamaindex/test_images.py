"""``ImageBlock`` and ``TextBlock`` through the LlamaIndex ``WorkersAI`` LLM to vision models over HTTP
(#13): image bytes, a file path and a data URL; BadInput for a text-only model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from llama_index.core.base.llms.types import (
    AudioBlock,
    ChatMessage,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
)

from llamaindex_workersai import WorkersAI
from llamaindex_workersai.llms import convert_messages
from workersai import BadInput
from workersai.local import LocalEmulator

from ..images import RED, RED_URL, says_red_png

QUESTION = TextBlock(text="What is in this image?")


@pytest.fixture
def conn(emulator: LocalEmulator) -> dict[str, Any]:
    return {"account_id": emulator.account_id, "api_key": emulator.token, "base_url": emulator.base_url}


def ask(image: ImageBlock) -> list[ChatMessage]:
    return [ChatMessage(role=MessageRole.USER, blocks=[QUESTION, image])]


@pytest.mark.parametrize(
    "model", ["@cf/meta/llama-4-scout-17b-16e-instruct", "@cf/google/gemma-4-26b-a4b-it"]
)
def test_image_bytes_reach_a_vision_model(conn: dict[str, Any], model: str) -> None:
    answer = WorkersAI(model=model, **conn).chat(ask(ImageBlock(image=RED)))
    assert says_red_png(answer.message.content or ""), answer.message.content


async def test_image_from_a_path_async_and_streamed(conn: dict[str, Any], tmp_path: Path) -> None:
    picture = tmp_path / "red.png"
    picture.write_bytes(RED)
    llm = WorkersAI(model="@cf/meta/llama-3.2-11b-vision-instruct", **conn)
    answer = await llm.achat(ask(ImageBlock(path=picture)))
    assert says_red_png(answer.message.content or "")
    chunks = [c async for c in await llm.astream_chat(ask(ImageBlock(url=RED_URL)))]
    assert says_red_png(chunks[-1].message.content or "")
    assert "".join(c.delta or "" for c in chunks) == chunks[-1].message.content


def test_a_text_only_model_is_refused_an_image(conn: dict[str, Any]) -> None:
    with pytest.raises(BadInput, match="text only"):
        WorkersAI(model="@cf/meta/llama-3.1-8b-instruct-fast", **conn).chat(ask(ImageBlock(image=RED)))


def test_blocks_become_core_parts() -> None:
    messages = [
        ChatMessage(role=MessageRole.USER, blocks=[QUESTION, ImageBlock(url="https://example.com/cat.png")]),
        ChatMessage(
            role=MessageRole.ASSISTANT, blocks=[ThinkingBlock(content="hmm"), TextBlock(text="A cat.")]
        ),
    ]
    assert convert_messages(messages) == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this image?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
            ],
        },
        {"role": "assistant", "content": "A cat."},
    ]
    with pytest.raises(BadInput, match="AudioBlock"):
        convert_messages([ChatMessage(role=MessageRole.USER, blocks=[AudioBlock(audio=b"RIFF0000WAVE")])])
