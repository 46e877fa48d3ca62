"""D1ChatStore and D1MemoryStore: LlamaIndex chat memory in D1, compared with LlamaIndex's own
SimpleChatStore, read back by another process, and Memory's long-term block on Vectorize."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from llama_index.core.llms import ChatMessage
from llama_index.core.memory import ChatMemoryBuffer, Memory, VectorMemoryBlock
from llama_index.core.storage.chat_store import SimpleChatStore
from llama_index.core.storage.chat_store.base_db import MessageStatus

from llamaindex_workersai import D1ChatStore, D1MemoryStore, VectorizeVectorStore, WorkersAIEmbedding
from tests.conftest import RequestLog
from workersai import BadInput, WorkersAI
from workersai.local import LocalEmulator

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def database(client: WorkersAI) -> Iterator[str]:
    created = client.d1.create_database(f"chat-{uuid.uuid4().hex[:8]}")
    yield created.uuid
    client.d1.delete_database(created.uuid)


def _m(role: str, text: str, **extra: Any) -> ChatMessage:
    return ChatMessage(role=role, content=text, additional_kwargs=extra)


def _script(store: Any) -> list[Any]:
    """The same calls on any BaseChatStore: what each answered."""

    def texts(messages: Any) -> Any:
        return None if messages is None else [(m.role.value, m.content) for m in messages]

    out: list[Any] = []
    store.set_messages("alice", [_m("user", "hi"), _m("assistant", "hello", tool="x")])
    store.add_message("alice", _m("user", "what's 2+2?"))
    store.add_message("bob", _m("user", "hey"))
    out.append(texts(store.get_messages("alice")))
    out.append(store.get_messages("alice")[1].additional_kwargs)
    out.append(texts([store.delete_message("alice", 1)]))
    out.append(store.delete_message("alice", 9))
    out.append(texts(store.get_messages("alice")))
    out.append(texts([store.delete_last_message("alice")]))
    out.append(sorted(store.get_keys()))
    out.append(texts(store.delete_messages("bob")))
    out.append(texts(store.get_messages("bob")))
    out.append(texts(store.get_messages("nobody")))
    return out


def test_the_same_answers_as_llamaindexs_simple_chat_store(client: WorkersAI, database: str) -> None:
    assert _script(D1ChatStore(client, database)) == _script(SimpleChatStore())


@pytest.mark.slow
def test_a_chat_memory_buffer_written_by_another_process(emulator: LocalEmulator, database: str) -> None:
    code = (
        "import sys; from llama_index.core.llms import ChatMessage;"
        "from llama_index.core.memory import ChatMemoryBuffer;"
        "from llamaindex_workersai import D1ChatStore;"
        "store = D1ChatStore(database_id=sys.argv[1]);"
        "memory = ChatMemoryBuffer.from_defaults("
        "    chat_store=store, chat_store_key='user-1', tokenizer_fn=str.split);"
        "memory.put(ChatMessage(role='user', content='My name is Ada.'));"
        "memory.put(ChatMessage(role='assistant', content='Hello Ada!'))"
    )
    child = subprocess.run(
        [sys.executable, "-c", code, database],
        cwd=ROOT,
        env={**os.environ, **emulator.env()},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    with emulator.client() as client:
        memory = ChatMemoryBuffer.from_defaults(
            chat_store=D1ChatStore(client, database), chat_store_key="user-1", tokenizer_fn=str.split
        )
        assert [m.content for m in memory.get_all()] == ["My name is Ada.", "Hello Ada!"]


async def test_async_twins(client: WorkersAI, database: str) -> None:
    store = D1ChatStore(client, database)
    await store.aset_messages("k", [_m("user", "one")])
    await store.async_add_message("k", _m("assistant", "two"))
    assert [m.content for m in await store.aget_messages("k")] == ["one", "two"]
    assert (await store.adelete_last_message("k")).content == "two"
    assert (await store.adelete_message("k", 0)).content == "one"
    assert await store.aget_keys() == []
    assert await store.adelete_messages("k") is None


async def test_memory_archives_to_d1_and_remembers_through_vectorize(
    client: WorkersAI, database: str
) -> None:
    index = f"chat-{uuid.uuid4().hex[:8]}"
    client.vectorize.create_index(index, dimensions=384)
    client.vectorize.create_metadata_index(index, "session_id", "string", wait=True)
    embed = WorkersAIEmbedding(model_name="@cf/baai/bge-small-en-v1.5", client=client)
    block = VectorMemoryBlock(vector_store=VectorizeVectorStore(index, client=client), embed_model=embed)

    def memory() -> Memory:
        return Memory.from_defaults(
            session_id="s-1",
            chat_store=D1MemoryStore(client, database),
            token_limit=40,
            chat_history_token_ratio=0.5,
            token_flush_size=10,
            tokenizer_fn=str.split,
            memory_blocks=[block],
        )

    first = memory()
    await first.aput_messages(
        [
            _m("user", "My favourite fruit is the mango, I eat one every morning."),
            _m("assistant", "Mangoes are great."),
            _m("user", "I also walk my dog Rex in the park after breakfast."),
            _m("assistant", "Rex is a good name for a dog."),
        ]
    )
    store = D1MemoryStore(client, database)
    archived = await store.get_messages("s-1", status=MessageStatus.ARCHIVED)
    active = await store.get_messages("s-1")
    assert archived and active  # the oldest messages went to the memory block, the newest stay
    assert str(archived[0].content).startswith("My favourite fruit")

    # a new Memory (a new process would build the same) finds the history and the long-term memory
    second = memory()
    assert [m.content for m in await second.aget_all()] == [m.content for m in archived + active]
    assert [m.content for m in await second.aget()][-1] == active[-1].content
    context = await second.aget(input="What fruit do I like?")
    assert "mango" in " ".join(str(m.content) for m in context).lower()
    assert await store.count_messages("s-1", status=None) == 4
    assert [m.content for m in await store.delete_oldest_messages("s-1", 1)] == [active[0].content]
    assert await store.get_keys() == ["s-1"]


@pytest.mark.parametrize(
    "key", ["", "a\x00b", "\ud800", "k" * 1025], ids=["empty", "NUL", "surrogate", "long"]
)
def test_odd_chat_keys_are_refused_before_any_request(
    logged_client: WorkersAI, request_log: RequestLog, key: str
) -> None:
    store = D1ChatStore(logged_client, "no-such-database")
    with pytest.raises(BadInput, match="chat key"):
        store.add_message(key, _m("user", "x"))
    with pytest.raises(BadInput, match="chat key"):
        store.get_messages(key)
    assert request_log.requests == []


def test_keys_round_trip(client: WorkersAI, database: str) -> None:
    store = D1ChatStore(client, database)
    odd = "user's; DROP TABLE llamaindex_chat_messages; -- 🦜 %_"
    store.add_message(odd, _m("user", "x"))
    assert store.get_keys() == [odd] and store.get_messages(odd)[0].content == "x"
