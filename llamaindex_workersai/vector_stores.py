"""``VectorizeVectorStore``: a Cloudflare Vectorize index as a LlamaIndex vector store."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from llama_index.core import Settings as LlamaSettings
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import BaseNode, TextNode, TransformComponent
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    FilterCondition,
    FilterOperator,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryResult,
)
from llama_index.core.vector_stores.utils import metadata_dict_to_node, node_to_metadata_dict
from pydantic import PrivateAttr

from workersai import BadInput, WorkersAI
from workersai.keywords import refuse_unknown
from workersai.settings import ClientSettings, client_keyword, connection, field_names
from workersai.vectorize import IndexDocuments, Metric, TextStore, Wait
from workersai.vectorize.checks import MAX_TOP_K_WITH_DATA, check_metadata_keys
from workersai.vectorize.documents import Found, Item, absent, key
from workersai.vectorize.filters import check_filter, matches_filter
from workersai.vectorize.texts import check_document

if TYPE_CHECKING:  # the Vectorize client is imported by WorkersAI when one is built
    from workersai.vectorize import Match, Vector, Vectorize

REF_DOC_KEY = "ref_doc_id"

_OPERATORS = {
    FilterOperator.EQ: "$eq",
    FilterOperator.NE: "$ne",
    FilterOperator.GT: "$gt",
    FilterOperator.GTE: "$gte",
    FilterOperator.LT: "$lt",
    FilterOperator.LTE: "$lte",
    FilterOperator.IN: "$in",
    FilterOperator.NIN: "$nin",
}


def to_vectorize_filter(filters: MetadataFilters | None) -> dict[str, Any] | None:
    """``MetadataFilters`` as a Vectorize filter. Vectorize ANDs its keys, so ``OR``/``NOT`` and
    operators it lacks (text match, contains, any, all, is_empty) raise ``NotImplementedError``."""
    if filters is None or not filters.filters:
        return None
    if filters.condition not in (None, FilterCondition.AND):
        raise NotImplementedError(
            f"Vectorize filters AND their keys; condition {filters.condition} is not supported"
        )
    out: dict[str, dict[str, Any]] = {}
    for item in filters.filters:
        if isinstance(item, MetadataFilters):
            nested = to_vectorize_filter(item) or {}
            for key, ops in nested.items():
                for op, value in ops.items():
                    _put(out, key, op, value)
            continue
        op = _OPERATORS.get(FilterOperator(item.operator))
        if op is None:
            raise NotImplementedError(f"Vectorize has no operator for {item.operator!r} (key {item.key!r})")
        value = list(item.value) if isinstance(item.value, (list, tuple)) else item.value
        _put(out, item.key, op, value)
    return check_filter(out)


def _put(out: dict[str, dict[str, Any]], key: str, op: str, value: Any) -> None:
    ops = out.setdefault(key, {})
    if op in ops and ops[op] != value:
        raise NotImplementedError(
            f"two {op} conditions on {key!r} cannot be expressed in one Vectorize filter"
        )
    ops[op] = value


class VectorizeVectorStore(BasePydanticVectorStore):
    """Nodes in a Vectorize index: embedding as the vector, text and node data in the metadata.

    :meth:`create_index` also makes ``ref_doc_id`` filterable, so ``delete(ref_doc_id)`` finds every
    node of a document with a filtered query; on an index without that metadata index it scans.
    Writes wait until applied (``wait=True``), so a query right after ``add`` sees the nodes. With
    ``wait="deferred"`` a write returns once Vectorize has accepted it and the store waits for its
    pending writes before its next read or delete: ``VectorStoreIndex`` adds nodes in many calls, and
    then pays one wait instead of one per call. Another client reading the index should first call
    ``store.client.vectorize.confirm_writes(index_name)``. ``wait=False`` never waits.

    A node's text is kept in its metadata, which Vectorize caps at 10 KiB: a longer node is refused
    before anything is written (:class:`~workersai.vectorize.TextTooLong`, naming the node). Use a
    smaller ``chunk_size`` (``Settings.chunk_size``, ``SentenceSplitter(chunk_size=...)``), or pass
    ``d1_database_id=``: texts then go to a D1 table the store creates
    (``vectorize_text_versions_<index>``), each version written before the vector that names it and the
    old one deleted once the new vector is applied, so a query never returns a node with another text
    than the one its embedding came from (:class:`~workersai.vectorize.IndexDocuments`).
    ``VectorStoreIndex`` embeds nodes before it hands them to a store, so to refuse a long node before
    its embedding is paid for, call :meth:`check_nodes` on the parsed nodes first.

    ``skip_existing=True`` (on the store, or ``add(nodes, skip_existing=True)``) resumes a bulk add that
    was stopped (a crash, ``kill -9``): the store waits until the index has applied every write it
    accepted (``Vectorize.settle``), checks the nodes' ids in bulk with ``get_by_ids`` and writes only
    the nodes not stored yet in its namespace (a stored node is not compared, only its id). Nodes reach
    ``add`` already embedded; to skip their embedding too, put :class:`SkipStoredNodes` before the
    embedding model in an ``IngestionPipeline`` (or call :meth:`unstored_nodes`), with stable node ids
    (e.g. a splitter's ``id_func``).
    """

    stores_text: bool = True
    flat_metadata: bool = False

    index_name: str
    namespace: str | None = None
    wait: Wait = True
    wait_timeout: float = 60.0
    skip_existing: bool = False
    d1_database_id: str | None = None

    _workers_ai: WorkersAI = PrivateAttr()
    _texts: TextStore | None = PrivateAttr(default=None)
    _docs: IndexDocuments = PrivateAttr()

    def __init__(
        self,
        index_name: str,
        *,
        client: WorkersAI | None = None,
        workers_ai: WorkersAI | None = None,
        **kwargs: Any,
    ) -> None:
        """``client``: an existing core client (``workers_ai=``, its older name, is deprecated); else
        connection settings (``account_id``, ``api_key``, ``base_url``, ...) as keywords."""
        settings = {k: kwargs.pop(k) for k in list(kwargs) if k in field_names(ClientSettings)}
        refuse_unknown(kwargs, field_names(type(self)), "VectorizeVectorStore", field_names(ClientSettings))
        super().__init__(index_name=index_name, **kwargs)  # type: ignore[call-arg]  # pydantic fields
        given = client_keyword(client, workers_ai, "VectorizeVectorStore")
        self._workers_ai = connection(self, given, settings, "VectorizeVectorStore")
        if self.d1_database_id:
            self._texts = TextStore(self._workers_ai.d1, self.d1_database_id, self.index_name)
        self._docs = IndexDocuments(self._workers_ai.vectorize, self.index_name, self._texts)

    @classmethod
    def class_name(cls) -> str:
        return "VectorizeVectorStore"

    @property
    def client(self) -> WorkersAI:
        return self._workers_ai

    @property
    def _vz(self) -> Vectorize:
        return self._workers_ai.vectorize

    @staticmethod
    def _dimensions(dimensions: int | None, embed_model: BaseEmbedding | None) -> int:
        if dimensions is not None:
            return dimensions
        model = embed_model or LlamaSettings.embed_model
        return len(model.get_text_embedding("dimension probe"))

    def create_index(
        self,
        dimensions: int | None = None,
        metric: Metric = "cosine",
        *,
        exist_ok: bool = True,
        embed_model: BaseEmbedding | None = None,
    ) -> None:
        """Create the index with a ``ref_doc_id`` metadata index (before any node is written).
        ``dimensions`` default to those of ``embed_model`` (or ``Settings.embed_model``)."""
        self._vz.create_index(
            self.index_name,
            dimensions=self._dimensions(dimensions, embed_model),
            metric=metric,
            exist_ok=exist_ok,
            metadata_indexes={REF_DOC_KEY: "string"},
        )

    async def acreate_index(
        self,
        dimensions: int | None = None,
        metric: Metric = "cosine",
        *,
        exist_ok: bool = True,
        embed_model: BaseEmbedding | None = None,
    ) -> None:
        """Async twin of :meth:`create_index`."""
        await self._vz.acreate_index(
            self.index_name,
            dimensions=self._dimensions(dimensions, embed_model),
            metric=metric,
            exist_ok=exist_ok,
            metadata_indexes={REF_DOC_KEY: "string"},
        )

    def create_metadata_index(self, property_name: str, index_type: str, *, exist_ok: bool = False) -> None:
        """Make a metadata property filterable with ``MetadataFilters`` (for nodes added from now on:
        nodes written before it existed stay unfilterable until written again). ``exist_ok=True``: one
        that already exists with that type is fine (so a setup script can run twice)."""
        self._vz.create_metadata_index(
            self.index_name, property_name, index_type, wait=True, exist_ok=exist_ok
        )

    async def acreate_metadata_index(
        self, property_name: str, index_type: str, *, exist_ok: bool = False
    ) -> None:
        await self._vz.acreate_metadata_index(
            self.index_name, property_name, index_type, wait=True, exist_ok=exist_ok
        )

    # -- writes ---------------------------------------------------------------------------------
    def _metadata(self, node: BaseNode) -> dict[str, Any]:
        """What Vectorize keeps of ``node``: everything, or, with D1, everything but its text."""
        in_d1 = self._texts is not None and isinstance(node, TextNode)
        return node_to_metadata_dict(node, remove_text=in_d1, flat_metadata=self.flat_metadata)

    def check_nodes(self, nodes: Sequence[BaseNode]) -> None:
        """Refuse, before any request, a node this store cannot keep: without D1, a text too long for
        Vectorize metadata (:class:`~workersai.vectorize.TextTooLong`); with D1, one over D1's row size.
        ``add`` calls it; call it yourself before embedding to fail before paying for embeddings."""
        for position, node in enumerate(nodes):
            # LlamaIndex's node_to_metadata_dict turns NaN and infinity into None: check them before
            check_metadata_keys(node.metadata, f"metadata of node {node.node_id!r}")
            text = node.get_content() if isinstance(node, TextNode) else ""
            in_d1 = self._texts is not None and isinstance(node, TextNode)
            check_document(self._metadata(node), node.node_id, position, text, in_d1=in_d1)

    def _items(self, nodes: Sequence[BaseNode]) -> list[Item]:
        """The wire records of ``nodes`` with their texts (checked by :meth:`check_nodes` before any
        request; the core then checks ids and embeddings). Only text nodes keep a text in D1."""
        items: list[Item] = []
        for node in nodes:
            record = {
                "id": node.node_id,
                "values": node.get_embedding(),
                "metadata": self._metadata(node),
                "namespace": self.namespace,
            }
            items.append((record, node.get_content() if isinstance(node, TextNode) else None))
        return items

    def _skip(self, options: dict[str, Any]) -> bool:
        """The call's ``skip_existing``, else the store's; any other keyword is refused."""
        refuse_unknown(options, ("skip_existing",), "VectorizeVectorStore.add", ("nodes",))
        value = options.get("skip_existing")
        return self.skip_existing if value is None else bool(value)

    def unstored_nodes(self, nodes: Sequence[BaseNode]) -> list[BaseNode]:
        """The nodes whose ids are not stored yet in this store's namespace (after waiting until the
        index has applied every write it accepted): what a resumed ingestion still has to embed."""
        self._docs.settle(self.wait_timeout)
        keep = set(
            self._vz.missing_ids(self.index_name, [n.node_id for n in nodes], namespace=self.namespace)
        )
        return [n for n in nodes if n.node_id in keep]

    async def aunstored_nodes(self, nodes: Sequence[BaseNode]) -> list[BaseNode]:
        await self._docs.asettle(self.wait_timeout)
        ids = [n.node_id for n in nodes]
        keep = set(await self._vz.amissing_ids(self.index_name, ids, namespace=self.namespace))
        return [n for n in nodes if n.node_id in keep]

    def add(self, nodes: Sequence[BaseNode], **add_kwargs: Any) -> list[str]:
        """Write the nodes (checked first); ``skip_existing`` as in the class docstring. Returns the ids
        of every node given."""
        if not nodes:
            return []
        self.check_nodes(nodes)
        todo = self.unstored_nodes(nodes) if self._skip(add_kwargs) else nodes
        if todo:
            self._docs.write(self._items(todo), wait=self.wait, timeout=self.wait_timeout)
        return [n.node_id for n in nodes]

    async def async_add(self, nodes: Sequence[BaseNode], **kwargs: Any) -> list[str]:
        if not nodes:
            return []
        self.check_nodes(nodes)
        todo = await self.aunstored_nodes(nodes) if self._skip(kwargs) else nodes
        if todo:
            await self._docs.awrite(self._items(todo), wait=self.wait, timeout=self.wait_timeout)
        return [n.node_id for n in nodes]

    def _writes_landed(self) -> None:
        """Wait for this index's deferred writes (``wait="deferred"``); at once when there are none."""
        self._docs.landed(self.wait_timeout)

    async def _awrites_landed(self) -> None:
        await self._docs.alanded(self.wait_timeout)

    def _delete_ids(self, ids: list[str]) -> None:
        """Delete vectors, then their texts in D1."""
        self._writes_landed()
        if ids:
            self._docs.delete(ids, wait=bool(self.wait), timeout=self.wait_timeout)

    async def _adelete_ids(self, ids: list[str]) -> None:
        await self._awrites_landed()
        if ids:
            await self._docs.adelete(ids, wait=bool(self.wait), timeout=self.wait_timeout)

    def _ref_doc_indexed(self) -> bool:
        return REF_DOC_KEY in self._vz.list_metadata_indexes(self.index_name)

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Delete every node of the document ``ref_doc_id``."""
        refuse_unknown(delete_kwargs, (), "VectorizeVectorStore.delete", ("ref_doc_id",))
        self._writes_landed()
        flt = {REF_DOC_KEY: ref_doc_id}
        if not self._ref_doc_indexed():
            self._delete_ids([v.id for v in self._scan(flt)])
            return
        probe = [1.0] + [0.0] * (self._vz.get_index(self.index_name).dimensions - 1)
        while True:
            found = self._vz.query(self.index_name, probe, top_k=100, filter=flt, namespace=self.namespace)
            if not found.matches:
                return
            self._delete_ids([m.id for m in found.matches])

    async def adelete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        refuse_unknown(delete_kwargs, (), "VectorizeVectorStore.adelete", ("ref_doc_id",))
        await self._awrites_landed()
        flt = {REF_DOC_KEY: ref_doc_id}
        if REF_DOC_KEY not in await self._vz.alist_metadata_indexes(self.index_name):
            await self._adelete_ids([v.id for v in await self._ascan(flt)])
            return
        probe = [1.0] + [0.0] * ((await self._vz.aget_index(self.index_name)).dimensions - 1)
        while True:
            found = await self._vz.aquery(
                self.index_name, probe, top_k=100, filter=flt, namespace=self.namespace
            )
            if not found.matches:
                return
            await self._adelete_ids([m.id for m in found.matches])

    # -- reads ----------------------------------------------------------------------------------
    @staticmethod
    def _node(
        vector_id: str, metadata: dict[str, Any] | None, embedding: list[float] | None = None
    ) -> BaseNode:
        node = metadata_dict_to_node(dict(metadata or {}))
        node.embedding = embedding
        return node

    # Texts kept in D1 are read for a whole result page in one request, for the text nodes that came
    # back without theirs.
    def _in_d1(self, nodes: Sequence[BaseNode], metadatas: Sequence[dict[str, Any] | None]) -> Found:
        if self._texts is None:
            return []
        return [
            (n.node_id, m)
            for n, m in zip(nodes, metadatas, strict=True)
            if isinstance(n, TextNode) and (not n.text or key(n.node_id, m)[1] is not None)
        ]

    @staticmethod
    def _with_texts(nodes: Sequence[BaseNode], wanted: Found, texts: dict[str, str]) -> list[bool]:
        """Give the text nodes their text kept in D1; False for a node whose vector names a text D1
        does not hold (being deleted): it is left out, never returned with another text."""
        for node in nodes:
            if node.node_id in texts:
                node.set_content(texts[node.node_id])
        gone = absent(wanted, texts)
        return [n.node_id not in gone for n in nodes]

    def _fill(self, nodes: Sequence[BaseNode], metadatas: Sequence[dict[str, Any] | None]) -> list[bool]:
        """Fill in the texts kept in D1; which nodes to keep."""
        wanted = self._in_d1(nodes, metadatas)
        return self._with_texts(nodes, wanted, self._docs.read(wanted))

    async def _afill(
        self, nodes: Sequence[BaseNode], metadatas: Sequence[dict[str, Any] | None]
    ) -> list[bool]:
        wanted = self._in_d1(nodes, metadatas)
        return self._with_texts(nodes, wanted, await self._docs.aread(wanted))

    def _found(self, vectors: list[Vector], flt: dict[str, Any] | None) -> list[Vector]:
        return [
            v
            for v in vectors
            if (self.namespace is None or v.namespace == self.namespace) and matches_filter(v.metadata, flt)
        ]

    def _scan(self, flt: dict[str, Any] | None, node_ids: list[str] | None = None) -> list[Vector]:
        """The stored vectors of this store's namespace among ``node_ids`` (None: all) that match
        ``flt``."""
        self._writes_landed()
        ids = node_ids if node_ids is not None else list(self._vz.list_ids(self.index_name))
        return self._found(self._vz.get_by_ids(self.index_name, ids), flt)

    async def _ascan(self, flt: dict[str, Any] | None, node_ids: list[str] | None = None) -> list[Vector]:
        await self._awrites_landed()
        ids = node_ids if node_ids is not None else [i async for i in self._vz.alist_ids(self.index_name)]
        return self._found(await self._vz.aget_by_ids(self.index_name, ids), flt)

    def get_nodes(
        self, node_ids: list[str] | None = None, filters: MetadataFilters | None = None
    ) -> list[BaseNode]:
        """Nodes by id and/or filter (a filter alone reads the whole index)."""
        found = self._scan(to_vectorize_filter(filters), node_ids)
        nodes = [self._node(v.id, v.metadata, v.values) for v in found]
        keep = self._fill(nodes, [v.metadata for v in found])
        return [n for n, kept in zip(nodes, keep, strict=True) if kept]

    async def aget_nodes(
        self, node_ids: list[str] | None = None, filters: MetadataFilters | None = None
    ) -> list[BaseNode]:
        found = await self._ascan(to_vectorize_filter(filters), node_ids)
        nodes = [self._node(v.id, v.metadata, v.values) for v in found]
        keep = await self._afill(nodes, [v.metadata for v in found])
        return [n for n, kept in zip(nodes, keep, strict=True) if kept]

    def delete_nodes(
        self, node_ids: list[str] | None = None, filters: MetadataFilters | None = None, **delete_kwargs: Any
    ) -> None:
        refuse_unknown(delete_kwargs, (), "VectorizeVectorStore.delete_nodes", ("node_ids", "filters"))
        if node_ids is not None and filters is None:
            self._delete_ids(list(node_ids))
            return
        self._delete_ids([v.id for v in self._scan(to_vectorize_filter(filters), node_ids)])

    async def adelete_nodes(
        self, node_ids: list[str] | None = None, filters: MetadataFilters | None = None, **delete_kwargs: Any
    ) -> None:
        refuse_unknown(delete_kwargs, (), "VectorizeVectorStore.adelete_nodes", ("node_ids", "filters"))
        if node_ids is not None and filters is None:
            await self._adelete_ids(list(node_ids))
            return
        found = await self._ascan(to_vectorize_filter(filters), node_ids)
        await self._adelete_ids([v.id for v in found])

    def clear(self) -> None:
        """Delete every vector of this store: the whole index's, or with ``namespace`` only that
        namespace's (other namespaces of the index are left alone). The index itself stays."""
        self._writes_landed()
        self._delete_ids(list(self._vz.list_ids(self.index_name, namespace=self.namespace)))

    async def aclear(self) -> None:
        """Async twin of :meth:`clear`."""
        await self._awrites_landed()
        ids = [i async for i in self._vz.alist_ids(self.index_name, namespace=self.namespace)]
        await self._adelete_ids(ids)

    def _query_args(self, query: VectorStoreQuery) -> tuple[list[float], dict[str, Any]]:
        if query.query_embedding is None:
            raise BadInput("Vectorize queries need a query embedding")
        if query.similarity_top_k > MAX_TOP_K_WITH_DATA:
            raise BadInput(
                f"similarity_top_k is at most {MAX_TOP_K_WITH_DATA} when nodes are returned "
                "(Vectorize's limit)"
            )
        flt = to_vectorize_filter(query.filters) or {}
        if query.doc_ids:
            _put(flt, REF_DOC_KEY, "$in", list(query.doc_ids))
        args = {
            "top_k": query.similarity_top_k,
            "return_metadata": "all",
            "filter": check_filter(flt) if flt else None,
            "namespace": self.namespace,
        }
        return list(query.query_embedding), args

    @staticmethod
    def _matched(query: VectorStoreQuery, matches: list[Match]) -> list[Match]:
        if query.node_ids:
            wanted = set(query.node_ids)
            matches = [m for m in matches if m.id in wanted]
        return matches

    @staticmethod
    def _result(matches: list[Match], nodes: list[BaseNode], keep: list[bool]) -> VectorStoreQueryResult:
        kept = [(m, n) for m, n, k in zip(matches, nodes, keep, strict=True) if k]
        return VectorStoreQueryResult(
            nodes=[n for _, n in kept], similarities=[m.score for m, _ in kept], ids=[m.id for m, _ in kept]
        )

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        """The nodes closest to ``query``: its filters, ``doc_ids`` and ``node_ids`` are all applied;
        a keyword beside it is refused (filters belong in the ``VectorStoreQuery``)."""
        refuse_unknown(kwargs, (), "VectorizeVectorStore.query", ("query",))
        vector, args = self._query_args(query)
        self._writes_landed()
        matches = self._matched(query, self._vz.query(self.index_name, vector, **args).matches)
        nodes = [self._node(m.id, m.metadata) for m in matches]
        return self._result(matches, nodes, self._fill(nodes, [m.metadata for m in matches]))

    async def aquery(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        refuse_unknown(kwargs, (), "VectorizeVectorStore.aquery", ("query",))
        vector, args = self._query_args(query)
        await self._awrites_landed()
        matches = self._matched(query, (await self._vz.aquery(self.index_name, vector, **args)).matches)
        nodes = [self._node(m.id, m.metadata) for m in matches]
        return self._result(matches, nodes, await self._afill(nodes, [m.metadata for m in matches]))


class SkipStoredNodes(TransformComponent):
    """An ``IngestionPipeline`` step that drops the nodes ``vector_store`` already holds (by id, in its
    namespace, checked in bulk with ``get_by_ids``), so a pipeline run again after being stopped embeds
    only the rest: put it after the splitter, before the embedding model. Node ids must be stable
    across runs (a splitter's ``id_func``); the step is never cached (its answer changes as the index
    fills)."""

    vector_store: VectorizeVectorStore

    def __call__(self, nodes: Sequence[BaseNode], **kwargs: Any) -> Sequence[BaseNode]:
        return self.vector_store.unstored_nodes(nodes)

    async def acall(self, nodes: Sequence[BaseNode], **kwargs: Any) -> Sequence[BaseNode]:
        return await self.vector_store.aunstored_nodes(nodes)

    def to_dict(self, **kwargs: Any) -> dict[str, Any]:
        # IngestionPipeline keys its cache by this: a fresh value each time keeps the step uncached.
        return {
            "class_name": "SkipStoredNodes",
            "index": self.vector_store.index_name,
            "run": uuid.uuid4().hex,
        }
