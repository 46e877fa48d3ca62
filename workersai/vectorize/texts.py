"""Document texts next to a Vectorize index: in its metadata (at most 10 KiB with the rest of it), or,
for long texts, in a D1 table the stores create (:class:`TextStore`). Both framework stores use this.

Without D1, :func:`check_text_fits` refuses a text too long for metadata before anything is embedded,
with :class:`TextTooLong`: which document, its size, the limit, and the two fixes.

With D1, texts go to the table ``vectorize_texts_<index>`` (``id TEXT PRIMARY KEY, text TEXT``,
created with ``CREATE TABLE IF NOT EXISTS`` on the store's first request): written before the vectors
(so a vector never exists without its text), deleted after them, and read back by id, one request per
result page. Every statement binds at most D1's 100 parameters
(developers.cloudflare.com/d1/platform/limits/); writes are ``INSERT OR REPLACE`` and ``DELETE``, so
a retried request does no harm.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..d1 import D1, QueryResult, Statement
from ..errors import BadInput
from .checks import MAX_METADATA_BYTES, check_index_name, check_metadata, compact

MAX_TEXT_BYTES = 1_000_000
"""D1's largest string or row ("Maximum string, BLOB or table row size", 1,000,000 bytes)."""
REQUEST_BYTES = 1_000_000
"""Texts per write request, in bytes. D1 documents no body limit for its REST API; 1 MB keeps each
request (and each retry) small."""
ROWS_PER_STATEMENT = 50
"""Rows per ``INSERT``: two bound parameters each, D1's 100 in all."""
IDS_PER_STATEMENT = 100
"""Ids per ``SELECT`` / ``DELETE ... IN (...)``: D1's 100 bound parameters."""

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
    :class:`TextTooLong` naming the document and both fixes."""
    try:
        size: int | None = len(compact(metadata))
    except ValueError:
        size = None  # check_metadata says why it cannot be sent
    if size is not None and size > MAX_METADATA_BYTES:
        raise TextTooLong(vector_id, position, len(text.encode("utf-8", "surrogatepass")), size)
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


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _marks(values: Sequence[str]) -> str:
    """``?, ?, ...``: one placeholder per value."""
    return ", ".join("?" * len(values))


class TextStore:
    """The texts of one Vectorize index in a D1 table (``vectorize_texts_<index>``), by vector id.

    Every method has an async twin; each builds its statements once (``_puts``, ``_gets``,
    ``_deletes``) and the twins differ only in the send.
    """

    def __init__(self, d1: D1, database_id: str, index_name: str) -> None:
        self.d1 = d1
        self.database_id = database_id
        self.table = f'"vectorize_texts_{check_index_name(index_name)}"'
        self._created = False

    def _with_table(self, statements: list[Statement]) -> list[Statement]:
        """``statements``, after ``CREATE TABLE IF NOT EXISTS`` until this store has sent it once."""
        if self._created:
            return statements
        create = f"CREATE TABLE IF NOT EXISTS {self.table} (id TEXT PRIMARY KEY, text TEXT NOT NULL)"
        return [Statement(create), *statements]

    def _sent(self, results: list[QueryResult], statements: list[Statement]) -> list[QueryResult]:
        """The results of the store's own statements (the table's creation left out)."""
        self._created = True
        return results[len(results) - len(statements) :]

    # -- statements -------------------------------------------------------------------------------
    def _puts(self, ids: Sequence[str], texts: Sequence[str]) -> list[list[Statement]]:
        """``INSERT OR REPLACE`` statements of at most 50 rows, grouped into requests of ~1 MB."""
        if len(ids) != len(texts):
            raise BadInput(f"{len(ids)} ids for {len(texts)} texts")
        requests: list[list[Statement]] = []
        current: list[Statement] = []
        rows: list[str] = []
        size = 0

        def flush_rows() -> None:
            if rows:
                values = ", ".join(["(?, ?)"] * (len(rows) // 2))
                sql = f"INSERT OR REPLACE INTO {self.table} (id, text) VALUES {values}"
                current.append(Statement(sql, tuple(rows)))
                rows.clear()

        for vid, text in zip(ids, texts, strict=True):
            check_text_for_d1(text, vid)
            weight = len(text.encode("utf-8")) + len(vid)
            if size and size + weight > REQUEST_BYTES:
                flush_rows()
                requests.append(current)
                current, size = [], 0
            rows += [vid, text]
            size += weight
            if len(rows) == 2 * ROWS_PER_STATEMENT:
                flush_rows()
        flush_rows()
        if current:
            requests.append(current)
        return requests

    def _gets(self, ids: Sequence[str]) -> list[Statement]:
        return [
            Statement(f"SELECT id, text FROM {self.table} WHERE id IN ({_marks(part)})", tuple(part))
            for part in _chunks(list(dict.fromkeys(ids)), IDS_PER_STATEMENT)
        ]

    def _deletes(self, ids: Sequence[str]) -> list[Statement]:
        return [
            Statement(f"DELETE FROM {self.table} WHERE id IN ({_marks(part)})", tuple(part))
            for part in _chunks(list(dict.fromkeys(ids)), IDS_PER_STATEMENT)
        ]

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

    def put(self, ids: Sequence[str], texts: Sequence[str]) -> None:
        """Store ``texts`` under ``ids`` (replacing what those ids held)."""
        for statements in self._puts(ids, texts):
            self._send(statements)

    def get(self, ids: Sequence[str]) -> dict[str, str]:
        """The texts of ``ids`` that have one, in one request."""
        statements = self._gets(ids)
        return self._texts(self._send(statements)) if statements else {}

    def delete(self, ids: Sequence[str]) -> None:
        """Delete the texts of ``ids`` (ids without one are skipped)."""
        statements = self._deletes(ids)
        if statements:
            self._send(statements)

    # -- async --------------------------------------------------------------------------------
    async def _asend(self, statements: list[Statement]) -> list[QueryResult]:
        sent = await self.d1.abatch(self.database_id, self._with_table(statements), retry=True)
        return self._sent(sent, statements)

    async def aput(self, ids: Sequence[str], texts: Sequence[str]) -> None:
        for statements in self._puts(ids, texts):
            await self._asend(statements)

    async def aget(self, ids: Sequence[str]) -> dict[str, str]:
        statements = self._gets(ids)
        return self._texts(await self._asend(statements)) if statements else {}

    async def adelete(self, ids: Sequence[str]) -> None:
        statements = self._deletes(ids)
        if statements:
            await self._asend(statements)
