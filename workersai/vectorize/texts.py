"""Document texts next to a Vectorize index: in its metadata (at most 10 KiB with the rest of it), or,
for long texts, in a D1 table the stores create (:class:`TextStore`). Both framework stores use this.

Without D1, :func:`check_text_fits` refuses a text too long for metadata before anything is embedded,
with :class:`TextTooLong`: which document, its size, the limit, and the two fixes.

With D1, a text is kept as a *version*: a row of ``vectorize_text_versions_<index>`` keyed by the
vector id and the text's hash (:func:`text_hash`), and the vector's metadata names that hash under
:data:`TEXT_HASH_KEY`. A search reads the row its vector names, so it never pairs a vector with
another text: a new version is written before its vector, and the old one deleted only once the new
vector is applied (:mod:`~workersai.vectorize.documents` holds that order). Texts written before
versions existed stay in ``vectorize_texts_<index>`` (``id TEXT PRIMARY KEY, text``) and are read by id
for vectors that name no hash. Both tables are created with ``CREATE TABLE IF NOT EXISTS`` on the
store's first request. Every statement binds at most D1's 100 parameters
(developers.cloudflare.com/d1/platform/limits/); writes are ``INSERT OR IGNORE`` of a row keyed by its
own content and ``DELETE``, so a retried request does no harm.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..d1 import D1, QueryResult, Statement
from ..errors import BadInput, MetadataTooLarge
from .checks import MAX_METADATA_BYTES, check_index_name, check_metadata, compact

MAX_TEXT_BYTES = 1_000_000
"""D1's largest string or row ("Maximum string, BLOB or table row size", 1,000,000 bytes)."""
REQUEST_BYTES = 1_000_000
"""Texts per write request, in bytes. D1 documents no body limit for its REST API; 1 MB keeps each
request (and each retry) small."""
ROWS_PER_STATEMENT = 33
"""Rows per ``INSERT``: three bound parameters each (id, hash, text), D1's 100 in all."""
PAIRS_PER_STATEMENT = 50
"""(id, hash) pairs per ``SELECT`` / ``DELETE``: two bound parameters each."""
IDS_PER_STATEMENT = 100
"""Ids per ``SELECT`` / ``DELETE ... IN (...)``: D1's 100 bound parameters."""
STATEMENTS_PER_REQUEST = 50
"""Deletes sent in one request (D1 documents no limit on a batch; this keeps each small)."""
TEXT_HASH_KEY = "_text_hash"
"""The vector metadata key naming the version of the text the vector was embedded from (a store takes
it out again before a caller sees the metadata)."""
HASH_CHARS = 32
"""Hex digits of a text's SHA-256 kept (128 bits)."""

FIXES = (
    "Split long documents into smaller chunks before adding them (a text splitter, e.g. LangChain's "
    "RecursiveCharacterTextSplitter(chunk_size=2000), or LlamaIndex's Settings.chunk_size / "
    "SentenceSplitter(chunk_size=...)), or keep texts in D1: create the store with "
    "d1_database_id=<a D1 database id> (client.d1.create_database(...) makes one)."
)


class TextTooLong(BadInput):
    """A document's text does not fit in Vectorize metadata (10 KiB with the rest of its metadata),
    and the store keeps texts there (no ``d1_database_id``). Raised before anything is embedded."""

    def __init__(self, vector_id: str, position: int, text_bytes: int, metadata_bytes: int) -> None:
        self.vector_id, self.position = vector_id, position
        self.text_bytes, self.metadata_bytes = text_bytes, metadata_bytes
        super().__init__(
            f"document {vector_id!r} (number {position} in this call, counting from 0) is too long to "
            f"keep in Vectorize metadata: its text is {text_bytes:,} bytes and its metadata with the "
            f"text {metadata_bytes:,} bytes, over Vectorize's limit of {MAX_METADATA_BYTES:,} bytes "
            f"(10 KiB) per vector. {FIXES}"
        )


def check_text_fits(metadata: Mapping[str, Any], vector_id: str, position: int, text: str) -> None:
    """:func:`~.checks.check_metadata` for metadata that holds ``text``: over 10 KiB, a
    :class:`TextTooLong` naming the document and both fixes, or, when the metadata is over the limit
    even without the text, :class:`~workersai.errors.MetadataTooLarge` (a shorter text would not help)."""
    try:
        size: int | None = len(compact(metadata))
    except ValueError:
        size = None  # check_metadata says why it cannot be sent
    if size is not None and size > MAX_METADATA_BYTES:
        text_bytes = len(text.encode("utf-8", "surrogatepass"))
        if size - text_bytes > MAX_METADATA_BYTES:  # too large even without the text: the metadata's fault
            raise MetadataTooLarge(
                f"the metadata of document {vector_id!r} (number {position} in this call, counting from 0) "
                f"is {size - text_bytes:,} bytes without its text, over Vectorize's limit of "
                f"{MAX_METADATA_BYTES:,} bytes (10 KiB) per vector: keep less in the document's metadata"
            )
        raise TextTooLong(vector_id, position, text_bytes, size)
    check_metadata(metadata, vector_id, size)


def check_text_for_d1(text: str, vector_id: str) -> None:
    """A text D1 can store as one row."""
    if not isinstance(text, str):
        raise BadInput(f"the text of {vector_id!r} is not a string")
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise BadInput(f"the text of {vector_id!r} is not valid Unicode (a lone surrogate)") from None
    if size > MAX_TEXT_BYTES:
        raise BadInput(
            f"the text of {vector_id!r} is {size:,} bytes; D1 stores at most {MAX_TEXT_BYTES:,} bytes per "
            "row: split it into smaller documents"
        )


def text_hash(text: str) -> str:
    """The version of ``text``: its SHA-256 (of UTF-8), the first :data:`HASH_CHARS` hex digits."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_CHARS]


def check_document(
    metadata: Mapping[str, Any] | None, vector_id: str, position: int, text: str, *, in_d1: bool
) -> None:
    """One document a store can keep, before anything is embedded: with its text in metadata
    (:func:`check_text_fits`), or in D1 (the text within a D1 row, and the metadata within 10 KiB
    with the hash the store adds). :data:`TEXT_HASH_KEY` is the store's own key."""
    if metadata is not None and TEXT_HASH_KEY in metadata:
        raise BadInput(f"metadata key {TEXT_HASH_KEY!r} is reserved for the version of the document text")
    if not in_d1:
        check_text_fits(metadata or {}, vector_id, position, text)
        return
    check_text_for_d1(text, vector_id)
    check_metadata({**(metadata or {}), TEXT_HASH_KEY: "0" * HASH_CHARS}, vector_id)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _marks(values: Sequence[Any]) -> str:
    """``?, ?, ...``: one placeholder per value."""
    return ", ".join("?" * len(values))


def _pairs(condition: str, count: int) -> str:
    """``(id = ? AND <condition>) OR ...``: one term per (id, hash) pair (the primary key finds each)."""
    return " OR ".join([f"(id = ? AND {condition})"] * count)


Row = tuple[str, str, str]
"""A text version: (vector id, text hash, text)."""
Key = tuple[str, "str | None"]
"""Which text a vector names: (vector id, text hash), the hash None for a text kept before versions."""


class TextStore:
    """The texts of one Vectorize index in D1: versions by (vector id, text hash) in
    ``vectorize_text_versions_<index>``, and the texts kept before versions, by id, in
    ``vectorize_texts_<index>``.

    Every method has an async twin; each builds its statements once (``_puts``, ``_gets``,
    ``_deletes``, ``_prunes``) and the twins differ only in the send. The order that keeps texts and
    vectors in agreement is :class:`~workersai.vectorize.documents.IndexDocuments`'.
    """

    def __init__(self, d1: D1, database_id: str, index_name: str) -> None:
        self.d1 = d1
        self.database_id = database_id
        name = check_index_name(index_name)
        self.table = f'"vectorize_text_versions_{name}"'
        self.legacy = f'"vectorize_texts_{name}"'
        self._created = False

    def _with_table(self, statements: list[Statement]) -> list[Statement]:
        """``statements``, after ``CREATE TABLE IF NOT EXISTS`` until this store has sent it once."""
        if self._created:
            return statements
        return [
            Statement(
                f"CREATE TABLE IF NOT EXISTS {self.table} (id TEXT NOT NULL, hash TEXT NOT NULL, "
                "text TEXT NOT NULL, PRIMARY KEY (id, hash))"
            ),
            Statement(f"CREATE TABLE IF NOT EXISTS {self.legacy} (id TEXT PRIMARY KEY, text TEXT NOT NULL)"),
            *statements,
        ]

    def _sent(self, results: list[QueryResult], statements: list[Statement]) -> list[QueryResult]:
        """The results of the store's own statements (the tables' creation left out)."""
        self._created = True
        return results[len(results) - len(statements) :]

    # -- statements -------------------------------------------------------------------------------
    @staticmethod
    def rows(ids: Sequence[str], texts: Sequence[str]) -> list[Row]:
        """The versions of ``texts`` under ``ids`` (each text checked for a D1 row)."""
        if len(ids) != len(texts):
            raise BadInput(f"{len(ids)} ids for {len(texts)} texts")
        out = []
        for vid, text in zip(ids, texts, strict=True):
            check_text_for_d1(text, vid)
            out.append((vid, text_hash(text), text))
        return out

    def _puts(self, rows: Sequence[Row]) -> list[tuple[list[Statement], int]]:
        """The requests that write ``rows`` (~1 MB each), each with how many statements lead it: a
        ``SELECT`` of its ids that have a text already (so only they need a prune; run before the
        inserts, in the same transaction), then ``INSERT OR IGNORE`` statements of at most 33 rows (a
        row is keyed by its own content: one that exists already holds the same text)."""
        requests: list[list[Row]] = []
        current: list[Row] = []
        size = 0
        for row in rows:
            weight = len(row[2].encode("utf-8")) + len(row[0]) + len(row[1])
            if current and size + weight > REQUEST_BYTES:
                requests.append(current)
                current, size = [], 0
            current.append(row)
            size += weight
        if current:
            requests.append(current)
        return [self._put_request(part) for part in requests]

    def _put_request(self, rows: Sequence[Row]) -> tuple[list[Statement], int]:
        ids = list(dict.fromkeys(vid for vid, _, _ in rows))
        selects = [
            Statement(
                f"SELECT id FROM {self.table} WHERE id IN ({_marks(part)}) "
                f"UNION SELECT id FROM {self.legacy} WHERE id IN ({_marks(part)})",
                (*part, *part),
            )
            for part in _chunks(ids, IDS_PER_STATEMENT // 2)
        ]
        inserts = [
            Statement(
                f"INSERT OR IGNORE INTO {self.table} (id, hash, text) VALUES "
                + ", ".join(["(?, ?, ?)"] * len(part)),
                tuple(value for row in part for value in row),
            )
            for part in _chunks(rows, ROWS_PER_STATEMENT)
        ]
        return selects + inserts, len(selects)

    def _gets(self, keys: Sequence[Key]) -> list[Statement]:
        unique = list(dict.fromkeys(keys))
        versions = [(vid, digest) for vid, digest in unique if digest is not None]
        legacy = [vid for vid, digest in unique if digest is None]
        statements = [
            Statement(
                f"SELECT id, text FROM {self.table} WHERE " + _pairs("hash = ?", len(part)),
                tuple(v for pair in part for v in pair),
            )
            for part in _chunks(versions, PAIRS_PER_STATEMENT)
        ]
        statements += [
            Statement(f"SELECT id, text FROM {self.legacy} WHERE id IN ({_marks(part)})", tuple(part))
            for part in _chunks(legacy, IDS_PER_STATEMENT)
        ]
        return statements

    def _deletes(self, ids: Sequence[str]) -> list[Statement]:
        return [
            Statement(f"DELETE FROM {table} WHERE id IN ({_marks(part)})", tuple(part))
            for table in (self.table, self.legacy)
            for part in _chunks(list(dict.fromkeys(ids)), IDS_PER_STATEMENT)
        ]

    def _prunes(self, kept: Mapping[str, str]) -> list[Statement]:
        """Delete every text of the ids in ``kept`` but the version named there."""
        pairs = list(kept.items())
        statements = [
            Statement(
                f"DELETE FROM {self.table} WHERE " + _pairs("hash <> ?", len(part)),
                tuple(v for pair in part for v in pair),
            )
            for part in _chunks(pairs, PAIRS_PER_STATEMENT)
        ]
        statements += [
            Statement(f"DELETE FROM {self.legacy} WHERE id IN ({_marks(part)})", tuple(part))
            for part in _chunks(list(kept), IDS_PER_STATEMENT)
        ]
        return statements

    def _doubled(self) -> list[Statement]:
        """The ids that have more than one text (versions, or a version and a text kept before)."""
        return [
            Statement(
                f"SELECT id FROM {self.table} GROUP BY id HAVING COUNT(*) > 1 UNION "
                f"SELECT id FROM {self.legacy} WHERE id IN (SELECT id FROM {self.table}) ORDER BY id"
            )
        ]

    @staticmethod
    def _ids(results: list[QueryResult]) -> list[str]:
        return [str(row["id"]) for result in results for row in result.results]

    @staticmethod
    def _texts(results: list[QueryResult]) -> dict[str, str]:
        return {str(row["id"]): str(row["text"]) for result in results for row in result.results}

    # -- sync ---------------------------------------------------------------------------------
    def _send(self, statements: list[Statement]) -> list[QueryResult]:
        # Every statement here is idempotent (CREATE TABLE IF NOT EXISTS, INSERT OR REPLACE, DELETE by
        # id, SELECT): sent again after a lost answer, it changes nothing more, so it keeps full retries.
        return self._sent(
            self.d1.batch(self.database_id, self._with_table(statements), retry=True), statements
        )

    def put(self, rows: Sequence[Row]) -> set[str]:
        """Store text versions (:meth:`rows`; a version that exists is left as it is); returns the ids
        that had a text before (the only ones whose other texts a prune may have to delete)."""
        had: set[str] = set()
        for statements, selects in self._puts(rows):
            had.update(self._ids(self._send(statements)[:selects]))
        return had

    def get(self, keys: Sequence[Key]) -> dict[str, str]:
        """``{id: text}`` of the texts ``keys`` name that exist, in one request."""
        statements = self._gets(keys)
        return self._texts(self._send(statements)) if statements else {}

    def delete(self, ids: Sequence[str]) -> None:
        """Delete every text of ``ids`` (ids without one are skipped)."""
        for statements in _chunks(self._deletes(ids), STATEMENTS_PER_REQUEST):
            self._send(list(statements))

    def prune(self, kept: Mapping[str, str]) -> None:
        """Delete every text of the ids in ``kept`` (``{id: hash}``) but that version (a request per
        :data:`STATEMENTS_PER_REQUEST` statements: ~1,600 ids)."""
        for statements in _chunks(self._prunes(kept), STATEMENTS_PER_REQUEST):
            self._send(list(statements))

    def doubled(self) -> list[str]:
        """The ids that have more than one text (what a prune would leave one of), in one request."""
        return self._ids(self._send(self._doubled()))

    # -- async --------------------------------------------------------------------------------
    async def _asend(self, statements: list[Statement]) -> list[QueryResult]:
        sent = await self.d1.abatch(self.database_id, self._with_table(statements), retry=True)
        return self._sent(sent, statements)

    async def aput(self, rows: Sequence[Row]) -> set[str]:
        had: set[str] = set()
        for statements, selects in self._puts(rows):
            had.update(self._ids((await self._asend(statements))[:selects]))
        return had

    async def aget(self, keys: Sequence[Key]) -> dict[str, str]:
        statements = self._gets(keys)
        return self._texts(await self._asend(statements)) if statements else {}

    async def adelete(self, ids: Sequence[str]) -> None:
        for statements in _chunks(self._deletes(ids), STATEMENTS_PER_REQUEST):
            await self._asend(list(statements))

    async def aprune(self, kept: Mapping[str, str]) -> None:
        for statements in _chunks(self._prunes(kept), STATEMENTS_PER_REQUEST):
            await self._asend(list(statements))

    async def adoubled(self) -> list[str]:
        return self._ids(await self._asend(self._doubled()))
