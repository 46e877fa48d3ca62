"""Documents in a Vectorize index whose texts may live in D1: written, read and deleted so that a search
never pairs a vector with a text other than the one it was embedded from. Both framework stores hold
one :class:`IndexDocuments` and call it; neither repeats the order below.

With a :class:`~workersai.vectorize.texts.TextStore` (``d1_database_id=``), a write

1. stamps each record's metadata with the hash of its text (:data:`~.texts.TEXT_HASH_KEY`);
2. writes the text versions of up to ``batch_size`` records to D1 *before* it hands those records to
   the Vectorize upsert (a vector never names a version that does not exist);
3. once the upsert is applied (``wait=True``: its mutations processed), deletes the other versions of
   the ids it wrote that had a text already (:meth:`TextStore.prune`; step 2's request tells which).
   With ``wait="deferred"`` or ``False``, or when the call raised, those ids are kept in memory and
   looked at once by the next :meth:`IndexDocuments.landed` (which the stores run before every
   read): those whose vector ``get_by_ids`` shows naming the new version are pruned; the others' old
   versions stay, named by no vector.

A ``kill -9`` between any two steps leaves every vector naming a version that exists (the old vector
the old one, the new vector the new one): at worst a version nobody names, which no read returns.
A call that raises (an embedding, a D1 or a Vectorize request failing) has written only versions its
vectors' writes may or may not have reached: each document reads either as it was, or, if its vector
was written, as the new one, whole. Reads pick the version each vector names (a vector naming none
is read from the table of texts kept before versions); a vector whose text is missing (being deleted,
or a concurrent writer of the same id pruned it) is left out of the results rather than returned
with another text or none. ``skip_existing`` leaves stored ids out before anything is written, so it
never changes a stored document.

Cost with D1: an add sends one D1 request per ~1 MB of versions (before: the same, once for the whole
call); that request also asks which of its ids had a text already, and only those are pruned: one
more D1 request when a call replaced texts, none when it only added new documents. ``wait`` other
than True moves the prune to the next read, after one ``get_by_ids`` per 20 replaced ids. A version
nobody names (the new text of a call that failed before its vector was written, an old one whose
prune was skipped) is never read, and goes the next time its id is written, deleted, or resumed
with ``skip_existing`` (:meth:`IndexDocuments.settle`).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .batching import CheckedRecord, Wait, checked_records
from .checks import MAX_VECTORS_PER_WRITE
from .texts import TEXT_HASH_KEY, Key, Row, TextStore, check_text_for_d1, text_hash

if TYPE_CHECKING:
    from .client import Vectorize
    from .results import Vector

Item = tuple[Mapping[str, Any], "str | None"]
"""A document to write: its wire record (``id``, ``values``, ``metadata``, ``namespace``) and its text
(None: a record with no text to keep, e.g. a LlamaIndex node that is not a text node)."""
Found = Sequence[tuple[str, "Mapping[str, Any] | None"]]
"""Stored vectors as (id, metadata)."""

MAX_PENDING = 100_000
"""Ids written with ``wait`` other than True kept for a later prune; past it the oldest are forgotten
(their old versions stay, unnamed and never read)."""


def visible(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """A stored vector's metadata as its caller wrote it (the store's version key taken out)."""
    meta = dict(metadata or {})
    meta.pop(TEXT_HASH_KEY, None)
    return meta


def key(vector_id: str, metadata: Mapping[str, Any] | None) -> Key:
    """Which text the stored vector names: its version, or None for a text kept before versions."""
    digest = (metadata or {}).get(TEXT_HASH_KEY)
    return vector_id, digest if isinstance(digest, str) else None


def absent(found: Found, texts: Mapping[str, str]) -> set[str]:
    """The ids of ``found`` whose vector names a text version that ``texts`` (read from D1) lacks: the
    vector is being deleted, or a concurrent writer of its id pruned the version. A reader leaves
    them out rather than return another text. (A vector naming no version, written before versions
    existed, reads as before: with the text kept by id, if any.)"""
    return {vid for vid, meta in found if key(vid, meta)[1] is not None and vid not in texts}


def stamp(record: Mapping[str, Any], text: str | None) -> tuple[dict[str, Any], Row | None]:
    """``record`` with its metadata naming the version of ``text``, and that version's row (a record
    without text as it is, and no row). A :class:`~.batching.CheckedRecord` stays one (its maker
    checked its metadata with room for the key: :func:`~.texts.check_document`)."""
    out: dict[str, Any] = CheckedRecord(record) if type(record) is CheckedRecord else dict(record)
    if text is None:
        return out, None
    vector_id = record["id"]
    check_text_for_d1(text, vector_id)
    digest = text_hash(text)
    out["metadata"] = {**(record.get("metadata") or {}), TEXT_HASH_KEY: digest}
    return out, (vector_id, digest, text)


class Versions:
    """The versions one write call sent: the last one of each id, and which ids had another text (in
    D1 before, or twice in this call), the only ones a prune needs to look at."""

    def __init__(self) -> None:
        self.versions: dict[str, str] = {}
        self.replaced: set[str] = set()

    @staticmethod
    def rows(part: list[Staged]) -> list[Row]:
        return [row for _, row in part if row]

    def records(self, part: list[Staged], had: set[str]) -> Iterator[dict[str, Any]]:
        """The records of ``part``, its versions written (``had``: the ids that had a text before)."""
        self.replaced |= had
        for record, row in part:
            if row:
                vid, digest, _ = row
                if self.versions.get(vid, digest) != digest:
                    self.replaced.add(vid)
                self.versions[vid] = digest
            yield record

    def prunable(self) -> dict[str, str]:
        """``{id: version}`` of the ids whose other texts are to be deleted once the write is applied."""
        return {vid: self.versions[vid] for vid in self.replaced if vid in self.versions}


class IndexDocuments:
    """The documents of one index: vectors in Vectorize, texts in their metadata (``texts=None``: the
    caller put them there) or in ``texts`` (D1), kept in agreement as the module docstring says. Every
    method has an async twin."""

    def __init__(self, vectorize: Vectorize, index_name: str, texts: TextStore | None) -> None:
        self.vectorize = vectorize
        self.index_name = index_name
        self.texts = texts
        self._pending: dict[str, str] = {}  # id -> the version written, its prune not yet safe
        self._lock = threading.Lock()  # the store may be shared by threads

    # -- writes ---------------------------------------------------------------------------------
    @staticmethod
    def _options(wait: Wait, timeout: float, batch_size: int | None) -> dict[str, Any]:
        options: dict[str, Any] = {"wait": wait, "timeout": timeout}
        if batch_size is not None:
            options["batch_size"] = batch_size
        return options

    @staticmethod
    def _staged(items: Sequence[Item], group: int) -> list[list[Staged]]:
        """A list of documents stamped and checked whole before any request, in groups."""
        staged = [stamp(record, text) for record, text in items]
        checked_records([record for record, _ in staged])  # a bad vector stops the call here
        return [staged[start : start + group] for start in range(0, len(staged), group)]

    @staticmethod
    def _groups(items: Iterable[Item], group: int) -> Iterator[list[Staged]]:
        part: list[Staged] = []
        for record, text in items:
            part.append(stamp(record, text))
            if len(part) >= group:
                yield part
                part = []
        if part:
            yield part

    def _remember(self, written: Mapping[str, str]) -> None:
        """Keep ``written`` for :meth:`landed` to prune (their vectors not known to be applied)."""
        with self._lock:
            self._pending.update(written)
            while len(self._pending) > MAX_PENDING:
                del self._pending[next(iter(self._pending))]

    def _done(self, written: dict[str, str], wait: Wait) -> dict[str, str]:
        """The versions to prune now that the upsert returned: all of them once it is applied
        (``wait=True``); else none, and the ids are kept for :meth:`landed`."""
        if wait is True:
            return written
        self._remember(written)
        return {}

    def write(
        self, items: Iterable[Item], *, wait: Wait, timeout: float, batch_size: int | None = None
    ) -> list[str]:
        """Upsert the documents (a list checked whole first; an iterator streamed, ``batch_size``
        records at a time); returns the upsert's mutation ids."""
        options = self._options(wait, timeout, batch_size)
        if self.texts is None:
            plain = [r for r, _ in items] if isinstance(items, Sequence) else (r for r, _ in items)
            return self.vectorize.upsert(self.index_name, plain, **options)
        texts, group = self.texts, batch_size or MAX_VECTORS_PER_WRITE
        groups = self._staged(items, group) if isinstance(items, Sequence) else self._groups(items, group)
        written = Versions()

        def records() -> Iterator[dict[str, Any]]:
            for part in groups:
                had = texts.put(written.rows(part))  # the versions before their vectors
                yield from written.records(part, had)

        try:
            mutations = self.vectorize.upsert(self.index_name, records(), **options)
        except BaseException:
            self._remember(written.prunable())  # some of them may be written: landed() will tell
            raise
        prune = self._done(written.prunable(), wait)
        if prune:
            texts.prune(prune)
        return mutations

    async def awrite(
        self,
        items: Iterable[Item] | AsyncIterable[Item],
        *,
        wait: Wait,
        timeout: float,
        batch_size: int | None = None,
    ) -> list[str]:
        """Async twin of :meth:`write`; ``items`` may be an async iterable."""
        options = self._options(wait, timeout, batch_size)
        if self.texts is None:
            plain: Any
            if isinstance(items, AsyncIterable):
                plain = _records_of(items)
            else:
                plain = [r for r, _ in items] if isinstance(items, Sequence) else (r for r, _ in items)
            return await self.vectorize.aupsert(self.index_name, plain, **options)
        texts, group = self.texts, batch_size or MAX_VECTORS_PER_WRITE
        staged = self._staged(items, group) if isinstance(items, Sequence) else None
        written = Versions()

        async def records() -> AsyncIterator[dict[str, Any]]:
            parts = _agroups(items, group) if staged is None else _from(staged)
            async for part in parts:
                had = await texts.aput(written.rows(part))
                for record in written.records(part, had):
                    yield record

        try:
            mutations = await self.vectorize.aupsert(self.index_name, records(), **options)
        except BaseException:
            self._remember(written.prunable())
            raise
        prune = self._done(written.prunable(), wait)
        if prune:
            await texts.aprune(prune)
        return mutations

    # -- waits ----------------------------------------------------------------------------------
    def _applied(self, pending: Mapping[str, str], found: Iterable[Vector]) -> dict[str, str]:
        """The pending versions the index now holds (so the other versions of those ids are unused).
        Each pending id is looked at once: one whose vector names another version (its write failed,
        or is not applied yet) is forgotten, its old version left in place, unread."""
        with self._lock:
            for vid, digest in pending.items():
                if self._pending.get(vid) == digest:
                    del self._pending[vid]
        return {v.id: pending[v.id] for v in found if key(v.id, v.metadata)[1] == pending.get(v.id)}

    def landed(self, timeout: float) -> None:
        """Wait for this index's deferred writes (``wait="deferred"``; at once when there are none),
        then prune the old versions of the ids written without ``wait=True`` (or by a call that
        raised) whose new vector ``get_by_ids`` shows applied."""
        self.vectorize.confirm_writes(self.index_name, timeout=timeout)
        if self.texts is None or not self._pending:
            return
        with self._lock:
            pending = dict(self._pending)
        applied = self._applied(pending, self.vectorize.get_by_ids(self.index_name, list(pending)))
        if applied:
            self.texts.prune(applied)

    async def alanded(self, timeout: float) -> None:
        await self.vectorize.aconfirm_writes(self.index_name, timeout=timeout)
        if self.texts is None or not self._pending:
            return
        with self._lock:
            pending = dict(self._pending)
        applied = self._applied(pending, await self.vectorize.aget_by_ids(self.index_name, list(pending)))
        if applied:
            await self.texts.aprune(applied)

    def _named(self, found: Iterable[Vector]) -> dict[str, str]:
        return {v.id: digest for v in found if (digest := key(v.id, v.metadata)[1]) is not None}

    def settle(self, timeout: float) -> None:
        """Return once the index has applied every write it accepted (``Vectorize.settle``), then
        keep, of each id with more than one text, only the version its vector names: what a resumed
        write (``skip_existing``) runs first, so the versions a killed call left behind are cleaned
        even for the ids it skips. (A writer of the same id in another process, its version written
        but its vector not yet accepted, loses that version: its document then reads as absent until
        it is written again, never with another text.)"""
        self.vectorize.settle(self.index_name, timeout=timeout)
        if self.texts is None:
            return
        doubled = self.texts.doubled()
        named = self._named(self.vectorize.get_by_ids(self.index_name, doubled)) if doubled else {}
        if named:
            self.texts.prune(named)

    async def asettle(self, timeout: float) -> None:
        await self.vectorize.asettle(self.index_name, timeout=timeout)
        if self.texts is None:
            return
        doubled = await self.texts.adoubled()
        named = self._named(await self.vectorize.aget_by_ids(self.index_name, doubled)) if doubled else {}
        if named:
            await self.texts.aprune(named)

    # -- reads and deletes ----------------------------------------------------------------------
    def read(self, found: Found) -> dict[str, str]:
        """``{id: text}`` of the stored vectors ``found`` whose texts are in D1: for each, the version
        its metadata names (an id whose text is missing is left out), in one request."""
        if self.texts is None or not found:
            return {}
        return self.texts.get([key(vid, meta) for vid, meta in found])

    async def aread(self, found: Found) -> dict[str, str]:
        if self.texts is None or not found:
            return {}
        return await self.texts.aget([key(vid, meta) for vid, meta in found])

    def delete(self, ids: Sequence[str], *, wait: bool, timeout: float) -> None:
        """Delete the vectors, then every text of theirs (a vector seen in between without its text
        is left out of reads)."""
        self.vectorize.delete_by_ids(self.index_name, ids, wait=wait, timeout=timeout)
        if self.texts is not None:
            with self._lock:
                for vid in ids:
                    self._pending.pop(vid, None)
            self.texts.delete(ids)

    async def adelete(self, ids: Sequence[str], *, wait: bool, timeout: float) -> None:
        await self.vectorize.adelete_by_ids(self.index_name, ids, wait=wait, timeout=timeout)
        if self.texts is not None:
            with self._lock:
                for vid in ids:
                    self._pending.pop(vid, None)
            await self.texts.adelete(ids)


Staged = tuple[dict[str, Any], "Row | None"]
"""A stamped record and the text version it names."""


async def _records_of(items: AsyncIterable[Item]) -> AsyncIterator[Mapping[str, Any]]:
    async for record, _ in items:
        yield record


async def _from(parts: list[list[Staged]]) -> AsyncIterator[list[Staged]]:
    for part in parts:
        yield part


async def _agroups(items: Iterable[Item] | AsyncIterable[Item], group: int) -> AsyncIterator[list[Staged]]:
    if not isinstance(items, AsyncIterable):
        for chunk in IndexDocuments._groups(items, group):
            yield chunk
        return
    part: list[Staged] = []
    async for record, text in items:
        part.append(stamp(record, text))
        if len(part) >= group:
            yield part
            part = []
    if part:
        yield part
