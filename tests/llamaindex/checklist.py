"""A reusable conformance checklist for LlamaIndex vector stores (LlamaIndex ships none).

Subclass :class:`VectorStoreChecklist` and provide the ``store`` (empty, made for ``dims``-dimensional
embeddings, with metadata filtering available on ``n`` (number) and ``s`` (string)) and
``embed_model`` fixtures.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.llms import LLM
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
)


def unit(i: int, dims: int) -> list[float]:
    rng = random.Random(i)
    values = [rng.gauss(0, 1) for _ in range(dims)]
    norm = sum(v * v for v in values) ** 0.5
    return [v / norm for v in values]


def nodes(count: int, dims: int, doc: str = "doc-0") -> list[TextNode]:
    rng = random.Random(count)
    out = []
    for i in range(count):
        meta: dict[str, Any] = {}
        if rng.random() < 0.8:
            meta["n"] = rng.randint(0, 9)
        if rng.random() < 0.8:
            meta["s"] = rng.choice(["red", "green", "blue"])
        node = TextNode(id_=f"node-{i}", text=f"text of node {i}", metadata=meta, embedding=unit(i, dims))
        node.relationships = {}
        out.append(node)
    return out


def _passes(present: bool, have: Any, op: str, value: Any) -> bool:
    if op == "!=":
        return not present or have != value
    if op == "nin":
        return not present or have not in value
    if not present:
        return False
    if op == "==":
        return bool(have == value)
    if op == "in":
        return have in value
    return bool({">": have > value, ">=": have >= value, "<": have < value, "<=": have <= value}[op])


def reference(items: list[TextNode], key: str, op: str, value: Any) -> set[str]:
    """Brute force: the ids whose metadata passes ``key op value`` ("!=" and "nin" match a missing key)."""
    return {n.node_id for n in items if _passes(key in n.metadata, n.metadata.get(key), op, value)}


OPERATOR_CASES = [
    ("n", "==", 4),
    ("n", "!=", 4),
    ("n", ">", 6),
    ("n", ">=", 6),
    ("n", "<", 3),
    ("n", "<=", 3),
    ("n", "in", [1, 2]),
    ("n", "nin", [1, 2]),
    ("s", "==", "red"),
    ("s", "in", ["red", "blue"]),
]


class VectorStoreChecklist:
    dims: int = 8

    @pytest.fixture
    def store(self) -> BasePydanticVectorStore:
        raise NotImplementedError

    @pytest.fixture
    def embed_model(self) -> BaseEmbedding:
        raise NotImplementedError

    @pytest.fixture
    def llm(self) -> LLM:
        raise NotImplementedError

    # -- the store on its own -------------------------------------------------------------------
    def test_class_and_flags(self, store: BasePydanticVectorStore) -> None:
        assert isinstance(store, BasePydanticVectorStore)
        assert store.stores_text is True
        assert store.client is not None

    def test_add_then_query_ranks_exact_match_first(self, store: BasePydanticVectorStore) -> None:
        items = nodes(20, self.dims)
        assert store.add(items) == [n.node_id for n in items]
        result = store.query(VectorStoreQuery(query_embedding=unit(7, self.dims), similarity_top_k=5))
        assert result.ids is not None and result.similarities is not None and result.nodes is not None
        assert result.ids[0] == "node-7"
        assert result.similarities[0] == pytest.approx(1.0, abs=1e-4)
        assert result.similarities == sorted(result.similarities, reverse=True)
        assert len(result.nodes) == 5

    def test_text_metadata_and_ref_doc_round_trip(self, store: BasePydanticVectorStore) -> None:
        doc = Document(text="the whole document", id_="doc-rt")
        node = TextNode(
            id_="rt-1",
            text="a node's text",
            metadata={"i": 1, "f": 1.5, "b": True, "s": "x", "l": ["a", 2]},
            embedding=unit(1, self.dims),
        )
        node.relationships = {}
        node.relationships[__import__("llama_index.core.schema", fromlist=["x"]).NodeRelationship.SOURCE] = (
            doc.as_related_node_info()
        )
        store.add([node])
        [got] = store.get_nodes(node_ids=["rt-1"])
        assert got.get_content() == "a node's text"
        assert got.metadata == {"i": 1, "f": 1.5, "b": True, "s": "x", "l": ["a", 2]}
        assert got.ref_doc_id == "doc-rt"
        result = store.query(VectorStoreQuery(query_embedding=unit(1, self.dims), similarity_top_k=1))
        assert result.nodes and result.nodes[0].get_content() == "a node's text"

    @pytest.mark.parametrize(("key", "op", "value"), OPERATOR_CASES)
    def test_every_filter_operator_matches_brute_force(
        self, store: BasePydanticVectorStore, key: str, op: str, value: Any
    ) -> None:
        items = nodes(40, self.dims)
        store.add(items)
        filters = MetadataFilters(filters=[MetadataFilter(key=key, operator=FilterOperator(op), value=value)])
        result = store.query(
            VectorStoreQuery(query_embedding=unit(99, self.dims), similarity_top_k=50, filters=filters)
        )
        assert set(result.ids or []) == reference(items, key, op, value)

    def test_and_of_filters(self, store: BasePydanticVectorStore) -> None:
        items = nodes(40, self.dims)
        store.add(items)
        filters = MetadataFilters(
            filters=[
                MetadataFilter(key="n", operator=FilterOperator.GTE, value=3),
                MetadataFilter(key="s", operator=FilterOperator.EQ, value="green"),
            ],
            condition=FilterCondition.AND,
        )
        result = store.query(
            VectorStoreQuery(query_embedding=unit(5, self.dims), similarity_top_k=50, filters=filters)
        )
        assert set(result.ids or []) == reference(items, "n", ">=", 3) & reference(items, "s", "==", "green")

    def test_delete_ref_doc_removes_every_node_of_it(self, store: BasePydanticVectorStore) -> None:
        from llama_index.core.schema import NodeRelationship, RelatedNodeInfo

        items = nodes(12, self.dims)
        for i, n in enumerate(items):
            n.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id="doc-a" if i % 3 else "doc-b")
        store.add(items)
        store.delete("doc-a")
        left = store.get_nodes(node_ids=[n.node_id for n in items])
        assert {n.ref_doc_id for n in left} == {"doc-b"} and len(left) == 4

    def test_get_nodes_delete_nodes_clear(self, store: BasePydanticVectorStore) -> None:
        items = nodes(15, self.dims)
        store.add(items)
        reds = MetadataFilters(filters=[MetadataFilter(key="s", value="red")])
        assert {n.node_id for n in store.get_nodes(filters=reds)} == reference(items, "s", "==", "red")
        store.delete_nodes(node_ids=["node-0", "node-1"])
        assert store.get_nodes(node_ids=["node-0", "node-1", "node-2"])[0].node_id == "node-2"
        store.delete_nodes(filters=reds)
        assert not [
            n for n in store.get_nodes(node_ids=[n.node_id for n in items]) if n.metadata.get("s") == "red"
        ]
        store.clear()
        assert store.get_nodes(node_ids=[n.node_id for n in items]) == []

    async def test_async_twins(self, store: BasePydanticVectorStore) -> None:
        from llama_index.core.schema import NodeRelationship, RelatedNodeInfo

        items = nodes(10, self.dims)
        for n in items:
            n.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id="doc-async")
        assert await store.async_add(items) == [n.node_id for n in items]
        result = await store.aquery(VectorStoreQuery(query_embedding=unit(3, self.dims), similarity_top_k=2))
        assert result.ids and result.ids[0] == "node-3"
        assert len(await store.aget_nodes(node_ids=["node-1", "node-2"])) == 2
        await store.adelete_nodes(node_ids=["node-1"])
        assert len(await store.aget_nodes(node_ids=["node-1", "node-2"])) == 1
        await store.adelete("doc-async")
        assert await store.aget_nodes(node_ids=[n.node_id for n in items]) == []
        await store.async_add(nodes(3, self.dims))
        await store.aclear()
        assert await store.aget_nodes(node_ids=["node-0", "node-1", "node-2"]) == []

    def test_or_and_unsupported_operators_are_refused(self, store: BasePydanticVectorStore) -> None:
        either = MetadataFilters(
            filters=[MetadataFilter(key="n", value=1), MetadataFilter(key="n", value=2)],
            condition=FilterCondition.OR,
        )
        with pytest.raises(NotImplementedError, match="AND"):
            store.query(VectorStoreQuery(query_embedding=unit(1, self.dims), filters=either))
        text = MetadataFilters(
            filters=[MetadataFilter(key="s", operator=FilterOperator.TEXT_MATCH, value="re")]
        )
        with pytest.raises(NotImplementedError, match="operator"):
            store.query(VectorStoreQuery(query_embedding=unit(1, self.dims), filters=text))

    # -- through LlamaIndex's index, retriever and query engine -----------------------------------
    def test_index_from_documents_then_from_vector_store(
        self, store: BasePydanticVectorStore, embed_model: BaseEmbedding, llm: LLM
    ) -> None:
        docs = [
            Document(text="Vectorize is Cloudflare's vector database.", id_="d1", metadata={"n": 1}),
            Document(text="Workers AI runs models on GPUs.", id_="d2", metadata={"n": 2}),
            Document(text="Bananas are yellow and sweet.", id_="d3", metadata={"n": 3}),
        ]
        VectorStoreIndex.from_documents(
            docs, storage_context=StorageContext.from_defaults(vector_store=store), embed_model=embed_model
        )
        index = VectorStoreIndex.from_vector_store(store, embed_model=embed_model)
        hits = index.as_retriever(similarity_top_k=1).retrieve("What stores vectors?")
        assert hits[0].node.get_content() == "Vectorize is Cloudflare's vector database."
        filtered = index.as_retriever(
            similarity_top_k=3,
            filters=MetadataFilters(filters=[MetadataFilter(key="n", operator=FilterOperator.GTE, value=2)]),
        ).retrieve("What stores vectors?")
        assert {h.node.metadata["n"] for h in filtered} == {2, 3}

        engine = index.as_query_engine(llm=llm, similarity_top_k=1)
        response = engine.query("What is Vectorize?")
        assert "Vectorize" in str(response)
        assert response.source_nodes[0].node.ref_doc_id == "d1"

        streaming = index.as_query_engine(llm=llm, similarity_top_k=1, streaming=True).query(
            "What is Vectorize?"
        )
        pieces = list(streaming.response_gen)  # type: ignore[union-attr]
        assert len(pieces) > 3 and "Vectorize" in "".join(pieces)

        index.delete_ref_doc("d3")
        assert [
            n.ref_doc_id
            for n in store.get_nodes(filters=MetadataFilters(filters=[MetadataFilter(key="n", value=3)]))
        ] == []

    async def test_aquery(self, store: BasePydanticVectorStore, embed_model: BaseEmbedding, llm: LLM) -> None:
        index = VectorStoreIndex.from_documents(
            [Document(text="The capital of France is Paris.", id_="fr")],
            storage_context=StorageContext.from_defaults(vector_store=store),
            embed_model=embed_model,
        )
        response = await index.as_query_engine(llm=llm, similarity_top_k=1).aquery(
            "What is the capital of France?"
        )
        assert "Paris" in str(response)
