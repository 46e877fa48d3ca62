"""Image content blocks through ``ChatWorkersAI`` to vision models over HTTP (#13): LangChain's standard
image blocks (v1 ``base64``/``url`` and the older ``source_type`` form) and OpenAI ``image_url`` blocks."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from langchain_workersai import ChatWorkersAI
from langchain_workersai.chat_models import convert_messages
from workersai import BadInput
from workersai.local import LocalEmulator

from ..images import RED, RED_URL, says_red_png

SCOUT = "@cf/meta/llama-4-scout-17b-16e-instruct"
RED_B64 = base64.b64encode(RED).decode()
QUESTION = {"type": "text", "text": "Give a concise description of this image."}

BLOCKS = {
    "v1 base64": {"type": "image", "base64": RED_B64, "mime_type": "image/png"},
    "v0 source_type": {"type": "image", "source_type": "base64", "data": RED_B64, "mime_type": "image/png"},
    "openai image_url": {"type": "image_url", "image_url": {"url": RED_URL}},
    "openai bare url": {"type": "image_url", "image_url": RED_URL},
}


@pytest.fixture
def conn(emulator: LocalEmulator) -> dict[str, Any]:
    return {"account_id": emulator.account_id, "api_key": emulator.token, "base_url": emulator.base_url}


@pytest.mark.parametrize("block", list(BLOCKS.values()), ids=list(BLOCKS))
def test_image_blocks_reach_a_vision_model(conn: dict[str, Any], block: dict[str, Any]) -> None:
    llm = ChatWorkersAI(model=SCOUT, **conn)
    answer = llm.invoke([HumanMessage(content=[QUESTION, block])])
    assert says_red_png(str(answer.content)), answer.content


async def test_streamed_and_async_answers_about_an_image(conn: dict[str, Any]) -> None:
    llm = ChatWorkersAI(model="@cf/meta/llama-3.2-11b-vision-instruct", **conn)
    message = HumanMessage(content=[QUESTION, BLOCKS["v1 base64"]])
    assert says_red_png(str((await llm.ainvoke([message])).content))
    streamed = "".join([str(c.content) async for c in llm.astream([message])])
    assert says_red_png(streamed), streamed


def test_a_text_only_model_is_refused_an_image(conn: dict[str, Any]) -> None:
    llm = ChatWorkersAI(model="@cf/meta/llama-3.1-8b-instruct-fast", **conn)
    with pytest.raises(BadInput, match="text only"):
        llm.invoke([HumanMessage(content=[QUESTION, BLOCKS["v1 base64"]])])


def test_blocks_become_core_parts() -> None:
    url_block = {"type": "image", "url": "https://example.com/cat.png"}
    history = [
        SystemMessage(content=[{"type": "text", "text": "Be brief."}]),
        HumanMessage(content=["Look: ", QUESTION, url_block]),
        AIMessage(content=[{"type": "reasoning", "reasoning": "hidden"}, {"type": "text", "text": "A cat."}]),
    ]
    assert convert_messages(history) == [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Look: "},
                QUESTION,
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
            ],
        },
        {"role": "assistant", "content": "A cat."},  # reasoning is never sent back as text
    ]
    with pytest.raises(BadInput, match="'audio'"):
        convert_messages(
            [HumanMessage(content=[{"type": "audio", "base64": "AAAA", "mime_type": "audio/wav"}])]
        )
    with pytest.raises(BadInput, match="base64 data or a URL"):
        convert_messages([HumanMessage(content=[{"type": "image", "file_id": "file-123"}])])
