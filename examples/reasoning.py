"""Reasoning models, the answer always apart from the reasoning: DeepSeek-R1-distill (reasoning in
``<think>`` in its text) through the core and LangChain, Qwen3 (``reasoning_content``) through LlamaIndex,
and gpt-oss through the Responses-API shape (``input`` / ``instructions`` / ``reasoning.effort``, built by
the core from ordinary messages), with a tool call.

Against the local emulator the reasoning is a short statement of what the generator answered from;
against Cloudflare it is the model's own.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _runtime import cloudflare_env
from llama_index.core.base.llms.types import ChatMessage, ThinkingBlock

from langchain_workersai import ChatWorkersAI
from llamaindex_workersai import WorkersAI as LlamaIndexWorkersAI
from workersai import WorkersAI

R1 = "@cf/deepseek-ai/deepseek-r1-distill-qwen-32b"
QWEN3 = "@cf/qwen/qwen3-30b-a3b-fp8"
GPT_OSS = "@cf/openai/gpt-oss-20b"
CONTEXT = "The Vashti shipyard built the ferry Zorblax 9 in 2011."
QUESTION = "Where was the Zorblax 9 built?"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def main() -> None:
    messages = [
        {"role": "system", "content": "Use this context: " + CONTEXT},
        {"role": "user", "content": QUESTION},
    ]
    with cloudflare_env(), WorkersAI() as client:
        # The core: text is the answer only; reasoning is where the model's <think> went.
        result = client.chat(messages, model=R1, max_tokens=200)
        print(f"[core, {R1}]\n  reasoning: {result.reasoning!r}\n  answer: {result.text!r}")
        assert result.reasoning and "<think>" not in result.text and "</think>" not in result.text

        # LangChain: the reasoning in additional_kwargs["reasoning_content"] (a "reasoning" content block).
        reply = ChatWorkersAI(model=R1, max_tokens=200).invoke(messages)
        print(f"[LangChain]\n  reasoning: {reply.additional_kwargs.get('reasoning_content')!r}")
        print(f"  answer: {reply.content!r}")
        assert reply.additional_kwargs.get("reasoning_content") and "</think>" not in str(reply.content)

        # LlamaIndex: a ThinkingBlock before the answer; message.content is the answer alone.
        llm = LlamaIndexWorkersAI(model=QWEN3, max_tokens=200)
        response = llm.chat([ChatMessage(role=m["role"], content=m["content"]) for m in messages])
        thinking = [b.content for b in response.message.blocks if isinstance(b, ThinkingBlock)]
        print(f"[LlamaIndex, {QWEN3}]\n  thinking: {thinking}\n  answer: {response.message.content!r}")
        # (Not "the thinking is not in the answer": a small model may say the same sentence twice.)
        content = response.message.content or ""
        assert thinking and "<think>" not in content and "</think>" not in content

        # gpt-oss answers in the Responses-API shape: the same call, the core builds and reads it.
        answer = client.chat(messages, model=GPT_OSS, max_tokens=200, reasoning_effort="low")
        print(f"[core, {GPT_OSS}, effort low]\n  reasoning: {answer.reasoning!r}\n  answer: {answer.text!r}")
        call = client.chat(
            "What is the weather in Lisbon?", model=GPT_OSS, tools=[WEATHER], tool_choice="required"
        )
        print(f"  tool call: {call.tool_calls[0].name}({call.tool_calls[0].arguments})")
        assert call.tool_calls[0].name == "get_weather"


if __name__ == "__main__":
    main()
