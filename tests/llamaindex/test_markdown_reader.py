"""``WorkersAIMarkdownReader`` over real HTTP against the emulator: alone (many files, sync and async)
and as ``SimpleDirectoryReader``'s file extractor, with the directory reader's metadata kept."""

from __future__ import annotations

from pathlib import Path

import fsspec
import pytest
from llama_index.core import SimpleDirectoryReader
from llama_index.core.schema import MetadataMode

from llamaindex_workersai import WorkersAIMarkdownReader
from tests import documents
from tests.conftest import RequestLog
from workersai import MarkdownConversionError, UnsupportedFileType, WorkersAI

FILES = ["report.pdf", "rivers.html", "tea.docx"]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return documents.folder(tmp_path)


def _check(docs: list, folder: Path) -> None:
    assert [d.metadata["name"] for d in docs] == FILES
    assert [d.metadata["file_path"] for d in docs] == [str(folder / f) for f in FILES]
    assert "Mount Etna" in docs[0].text and "Seine" in docs[1].text and "# Tea guide" in docs[2].text
    assert all(d.metadata["format"] == "markdown" and d.metadata["tokens"] > 0 for d in docs)
    for mode in (MetadataMode.EMBED, MetadataMode.LLM):  # not for the embedding model or the LLM
        assert "tokens" not in docs[0].get_metadata_str(mode) and "name: report.pdf" in docs[
            0
        ].get_metadata_str(mode)


def test_reader_alone_in_batches(logged_client: WorkersAI, request_log: RequestLog, folder: Path) -> None:
    reader = WorkersAIMarkdownReader(client=logged_client, batch_size=2)
    _check(reader.load_data([folder / f for f in FILES], extra_info={"team": "docs"}), folder)
    assert len(request_log.requests) == 2


async def test_reader_async(client: WorkersAI, folder: Path) -> None:
    reader = WorkersAIMarkdownReader(client=client)
    _check(await reader.aload_data([str(folder / f) for f in FILES]), folder)
    _check(list(await reader.alazy_load_data([folder / f for f in FILES])), folder)


def test_as_simple_directory_reader_file_extractor(client: WorkersAI, folder: Path) -> None:
    reader = WorkersAIMarkdownReader(client=client)
    extractor = {".pdf": reader, ".html": reader, ".docx": reader}
    docs = SimpleDirectoryReader(str(folder), file_extractor=extractor).load_data()
    docs.sort(key=lambda d: FILES.index(d.metadata["name"]))
    _check(docs, folder)
    assert docs[0].metadata["file_name"] == "report.pdf"  # the directory reader's own metadata, kept


async def test_as_file_extractor_async_and_through_fsspec(client: WorkersAI, folder: Path) -> None:
    reader = WorkersAIMarkdownReader(client=client)
    extractor = {".pdf": reader, ".html": reader, ".docx": reader}
    docs = await SimpleDirectoryReader(str(folder), file_extractor=extractor).aload_data()
    assert sorted(d.metadata["name"] for d in docs) == sorted(FILES)
    (doc,) = reader.load_data(str(folder / "rivers.html"), fs=fsspec.filesystem("file"))
    assert "Seine" in doc.text


def test_reader_errors(client: WorkersAI, folder: Path) -> None:
    (folder / "notes.odt").write_bytes(b"PK")
    with pytest.raises(MarkdownConversionError):
        WorkersAIMarkdownReader(client=client).load_data(folder / "notes.odt")
    kept = WorkersAIMarkdownReader(client=client, on_error="keep").load_data(folder / "notes.odt")
    assert kept[0].text == "" and kept[0].metadata["error"]
    assert WorkersAIMarkdownReader(client=client, on_error="skip").load_data(folder / "notes.odt") == []
    (folder / "tool.exe").write_bytes(b"MZ")
    with pytest.raises(UnsupportedFileType):
        WorkersAIMarkdownReader(client=client).load_data(folder / "tool.exe")
