"""``WorkersAIMarkdownLoader`` and ``WorkersAIMarkdownParser`` over real HTTP against the emulator: one
Document per file with its metadata, lazily by batch, sync and async, per-file errors as asked, bad
paths refused before any request, and the parser inside ``GenericLoader``."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from langchain_core.document_loaders.blob_loaders import Blob

from langchain_workersai import WorkersAIMarkdownLoader, WorkersAIMarkdownParser
from tests import documents
from tests.conftest import RequestLog
from workersai import BadInput, MarkdownConversionError, UnsupportedFileType, WorkersAI


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return documents.folder(tmp_path)


FILES = ["report.pdf", "tea.docx", "rivers.html"]


def _check(docs: list, folder: Path) -> None:
    assert [d.metadata["source"] for d in docs] == [str(folder / f) for f in FILES]
    assert [d.metadata["name"] for d in docs] == FILES
    assert docs[0].metadata["mime_type"] == "application/pdf" and docs[0].metadata["format"] == "markdown"
    assert all(isinstance(d.metadata["tokens"], int) for d in docs)
    assert "Mount Etna" in docs[0].page_content and "# Tea guide" in docs[1].page_content
    assert "Seine" in docs[2].page_content


def test_loader_one_document_per_file_lazily(
    logged_client: WorkersAI, request_log: RequestLog, folder: Path
) -> None:
    loader = WorkersAIMarkdownLoader([folder / f for f in FILES], client=logged_client, batch_size=2)
    lazy = loader.lazy_load()
    first = next(lazy)
    assert first.metadata["name"] == "report.pdf" and len(request_log.requests) == 1  # one batch so far
    docs = [first, *lazy]
    assert len(request_log.requests) == 2
    _check(docs, folder)


async def test_loader_async(client: WorkersAI, folder: Path) -> None:
    loader = WorkersAIMarkdownLoader([str(folder / f) for f in FILES], client=client)
    _check(await loader.aload(), folder)
    _check([d async for d in loader.alazy_load()], folder)


def test_loader_per_file_errors(client: WorkersAI, folder: Path) -> None:
    (folder / "notes.odt").write_bytes(b"PK not really")
    paths = [folder / "report.pdf", folder / "notes.odt"]
    with pytest.raises(MarkdownConversionError, match=r"notes\.odt"):
        WorkersAIMarkdownLoader(paths, client=client).load()
    assert [
        d.metadata["name"] for d in WorkersAIMarkdownLoader(paths, client=client, on_error="skip").load()
    ] == ["report.pdf"]
    kept = WorkersAIMarkdownLoader(paths, client=client, on_error="keep").load()[1]
    assert kept.page_content == "" and "cannot convert .odt" in kept.metadata["error"]


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [("empty.pdf", b"", BadInput), ("tool.exe", b"MZ", UnsupportedFileType), ("missing.pdf", None, BadInput)],
)
def test_loader_refuses_bad_paths_before_any_request(
    logged_client: WorkersAI,
    request_log: RequestLog,
    folder: Path,
    name: str,
    content: bytes | None,
    error: type,
) -> None:
    if content is not None:
        (folder / name).write_bytes(content)
    loader = WorkersAIMarkdownLoader([folder / "report.pdf", folder / name], client=logged_client)
    with pytest.raises(error):
        loader.load()
    assert request_log.requests == []


def test_parser_with_generic_loader(client: WorkersAI, folder: Path) -> None:
    with warnings.catch_warnings():  # langchain-community announces its sunset when imported
        warnings.simplefilter("ignore", DeprecationWarning)
        from langchain_community.document_loaders.generic import GenericLoader

    loader = GenericLoader.from_filesystem(
        str(folder),
        glob="*",
        suffixes=[".pdf", ".docx", ".html"],
        parser=WorkersAIMarkdownParser(client=client),
    )
    docs = sorted(loader.load(), key=lambda d: FILES.index(d.metadata["name"]))
    _check(docs, folder)


async def test_parser_async_and_bytes(client: WorkersAI) -> None:
    parser = WorkersAIMarkdownParser(client=client, conversion_options={"html": {"cssSelector": "article"}})
    blob = Blob.from_data(documents.html(), path="pages/rivers.html", mime_type="text/html")
    (doc,) = await parser.aparse(blob)
    assert doc.metadata["name"] == "rivers.html" and "Menu" not in doc.page_content
    assert parser.parse(blob)[0].page_content == doc.page_content
    assert (
        WorkersAIMarkdownParser(client=client, on_error="skip").parse(Blob.from_data(b"PK", path="x.odt"))
        == []
    )
