"""Markdown conversion over real HTTP against the emulator (``/ai/tomarkdown``): every input kind, typed
results and per-file errors, batches within the limits, retries, conversion options, bad input refused
before any request, the supported formats, and the official SDK reading the emulator's answers."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from cloudflare import Cloudflare

import workersai.markdown as md
from workersai import (
    BadInput,
    MarkdownFile,
    MarkdownResult,
    RequestTooLarge,
    SupportedFormat,
    UnsupportedFileType,
    WorkersAI,
)
from workersai.local import LocalEmulator

from . import documents
from .conftest import RequestLog

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _by_name(results: list[MarkdownResult]) -> dict[str, MarkdownResult]:
    return {r.name: r for r in results}


def _check_documents(results: list[MarkdownResult]) -> None:
    assert [r.name for r in results] == ["report.pdf", "tea.docx", "rivers.html", "sales.xlsx", "red.png"]
    got = _by_name(results)
    assert all(
        r.ok and r.format == "markdown" and isinstance(r.tokens, int) and r.tokens > 0 for r in results
    )
    assert "Mount Etna erupted 12 times in 2021." in (got["report.pdf"].data or "")
    assert got["report.pdf"].mime_type == "application/pdf"
    assert "# Tea guide" in (got["tea.docx"].data or "") and "| Green | 2 |" in (got["tea.docx"].data or "")
    assert got["tea.docx"].mime_type == DOCX_MIME
    assert "# Rivers of France" in (got["rivers.html"].data or "")
    assert "var x" not in (got["rivers.html"].data or "")  # scripts are not text
    assert "| North | 42 |" in (got["sales.xlsx"].data or "")
    assert "PNG image, 4 pixels wide and 3 pixels high" in (got["red.png"].data or "")


def _inputs(tmp_path: Path) -> list[md.FileInput]:
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(documents.pdf())
    return [
        pdf,  # a path
        ("tea.docx", documents.docx()),  # bytes with a name
        ("rivers.html", io.BytesIO(documents.html())),  # a file object with a name
        MarkdownFile("sales.xlsx", documents.xlsx(), md.SUPPORTED_FORMATS[9][1]),
        ("red.png", documents.png(), "image/png"),  # bytes, name and MIME type
    ]


def test_converts_every_kind_of_input(client: WorkersAI, tmp_path: Path) -> None:
    _check_documents(client.to_markdown(_inputs(tmp_path)))


async def test_async_twin_converts_the_same(client: WorkersAI, tmp_path: Path) -> None:
    results = await client.ato_markdown(_inputs(tmp_path))
    _check_documents(results)


def test_one_file_and_an_open_file(client: WorkersAI, tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_bytes(documents.html("Lyon sits on the Rhone."))
    with path.open("rb") as handle:
        (result,) = client.to_markdown(handle)
    assert result.name == "page.html" and "Lyon sits on the Rhone." in (result.data or "")
    (again,) = client.to_markdown(str(path))
    assert again.data == result.data


def test_what_cannot_be_converted_is_a_per_file_error(client: WorkersAI) -> None:
    results = client.to_markdown(
        [
            ("notes.odt", b"PK\x03\x04 not really"),
            ("broken.pdf", b"%PDF-1.7 then nothing"),
            ("ok.csv", b"a,b\n1,2\n"),
        ]
    )
    odt, broken, ok = results
    assert (odt.format, odt.ok, odt.data, odt.tokens) == ("error", False, None, None)
    assert "cannot convert .odt" in (odt.error or "")
    assert broken.format == "error" and broken.mime_type == "application/pdf" and broken.error
    assert ok.ok and ok.data == "| a | b |\n| --- | --- |\n| 1 | 2 |"


@pytest.mark.parametrize(
    ("files", "error", "words"),
    [
        ([("virus.exe", b"MZ")], UnsupportedFileType, "not a format"),
        ([("empty.pdf", b"")], BadInput, "is empty"),
        ([b"%PDF"], BadInput, "need a file name"),
        ([("text.txt", io.StringIO("hi"))], BadInput, "binary mode"),
        ([Path("/nonexistent/file.pdf")], BadInput, "no such file"),
    ],
)
def test_bad_input_is_refused_before_any_request(
    logged_client: WorkersAI, request_log: RequestLog, files: list[md.FileInput], error: type, words: str
) -> None:
    with pytest.raises(error, match=words):
        logged_client.to_markdown([("fine.html", documents.html()), *files])
    with pytest.raises(BadInput, match="no files"):
        logged_client.to_markdown([])
    assert request_log.requests == []


def test_a_file_over_the_limit_is_refused_before_any_request(
    logged_client: WorkersAI, request_log: RequestLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(md, "MAX_FILE_BYTES", 1000)
    with pytest.raises(RequestTooLarge, match="at most 1,000"):
        logged_client.to_markdown([("small.csv", b"a\n1\n"), ("big.csv", b"a\n" + b"1\n" * 1000)])
    assert request_log.requests == []


def test_an_unknown_extension_with_a_supported_mime_type_is_sent(client: WorkersAI) -> None:
    (result,) = client.to_markdown([("download", documents.html(), "text/html")])
    assert result.ok and result.mime_type == "text/html" and "Seine" in (result.data or "")


def test_batches_keep_within_the_count_and_byte_limits(
    logged_client: WorkersAI, request_log: RequestLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = [(f"t{i}.csv", f"n\n{i}\n".encode()) for i in range(5)]
    results = logged_client.to_markdown(files, batch_size=2)
    assert [r.name for r in results] == [f"t{i}.csv" for i in range(5)]
    assert [r.data for r in results] == [f"| n |\n| --- |\n| {i} |" for i in range(5)]
    assert len(request_log.requests) == 3
    assert all(b'name="files"' in (r.content or b"") for r in request_log.requests)
    request_log.requests.clear()
    monkeypatch.setattr(md, "MAX_REQUEST_BYTES", 3 * md.MULTIPART_OVERHEAD + 20)
    logged_client.to_markdown(files)  # two 8-byte files fit a request of this size, three do not
    assert len(request_log.requests) == 3
    with pytest.raises(BadInput, match="batch_size"):
        logged_client.to_markdown(files, batch_size=0)


async def test_retried_as_every_request(client: WorkersAI, emulator: LocalEmulator) -> None:
    emulator.set_faults(error="3040", fail_next=1, retry_after=0)
    (result,) = await client.ato_markdown([("t.csv", b"a\n1\n")])
    assert result.ok
    emulator.set_faults(error="502", fail_next=1, retry_after=0)
    (result,) = client.to_markdown([("t.csv", b"a\n1\n")])
    assert result.ok


def test_conversion_options_are_sent(client: WorkersAI) -> None:
    options = {"html": {"cssSelector": "article", "hostname": "example.com"}}
    (picked,) = client.to_markdown([("rivers.html", documents.html())], conversion_options=options)
    assert "Menu" not in (picked.data or "") and "(https://example.com/seine)" in (picked.data or "")
    (text,) = client.to_markdown(
        [("tea.docx", documents.docx())], conversion_options={"output": {"format": "text"}}
    )
    assert (
        text.format == "text"
        and text.ok
        and "#" not in (text.data or "")
        and "Tea guide" in (text.data or "")
    )


async def test_supported_formats(client: WorkersAI) -> None:
    formats = client.markdown_supported()
    assert SupportedFormat(".pdf", "application/pdf") in formats
    assert SupportedFormat(".docx", DOCX_MIME) in formats
    assert await client.amarkdown_supported() == formats
    assert {(f.extension, f.mime_type) for f in formats} == set(md.SUPPORTED_FORMATS)


def test_the_official_sdk_reads_the_emulator(emulator: LocalEmulator) -> None:
    """cloudflare-python 5.9.0's ``ai.to_markdown.supported`` reads the emulator's answer. Its
    ``transform`` cannot send at all (``get_api_list() got an unexpected keyword argument 'files'``), so
    the parts it would send, named ``files[]`` (Stainless's bracket array format), go by httpx."""
    sdk = Cloudflare(api_token=emulator.token, base_url=emulator.base_url, max_retries=0)
    supported = list(sdk.ai.to_markdown.supported(account_id=emulator.account_id))
    assert any(s.extension == ".pdf" and s.mime_type == "application/pdf" for s in supported)
    with pytest.raises(TypeError, match="files"):  # if this starts working, test it here instead
        sdk.ai.to_markdown.transform(account_id=emulator.account_id, file={"files": [documents.html()]})
    answer = httpx.post(
        f"{emulator.base_url}/accounts/{emulator.account_id}/ai/tomarkdown",
        headers={"Authorization": f"Bearer {emulator.token}"},
        files=[("files[]", ("rivers.html", documents.html(), "text/html"))],
    )
    (item,) = answer.json()["result"]
    assert item["name"] == "rivers.html" and item["format"] == "markdown" and "Seine" in item["data"]


def test_results_read_the_sdk_and_binding_shapes() -> None:
    sent = [MarkdownFile("a.html", b"<p>a</p>", "text/html")]
    one = {"name": "a.html", "mimeType": "text/html", "format": "markdown", "tokens": "3", "data": "a"}
    assert md.read_results(one, sent) == md.read_results([one], sent)  # one object (binding, one file)
    assert md.read_results([one], sent)[0].tokens == 3  # a string (the SDK's model), read as a number
    with pytest.raises(md.ResponseFormatError):
        md.read_results([one, one], sent)


async def test_binding_path(emulator: LocalEmulator, client: WorkersAI) -> None:
    """``env.AI.toMarkdown`` through the binding transport (Python stand-ins for the binding, forwarding
    to the emulator; tests/pyodide runs the same under Pyodide with a JS binding): the same results as
    over REST; sync calls refused, as every call on a binding."""
    from tests.pyodide import pybindings
    from workersai import BindingUnsupported

    bound = WorkersAI(binding=pybindings.Ai(emulator.base_url, emulator.account_id, emulator.token))
    files = [("tea.docx", documents.docx()), ("r é.html", documents.html()), ("n.odt", b"PK")]
    got, want = await bound.ato_markdown(files), client.to_markdown(files)
    assert [(r.name, r.mime_type, r.format, r.data, r.tokens, r.error) for r in got] == [
        (r.name, r.mime_type, r.format, r.data, r.tokens, r.error) for r in want
    ]
    (text,) = await bound.ato_markdown(
        [("t.html", documents.html())], conversion_options={"output": {"format": "text"}}
    )
    assert text.format == "text"
    assert await bound.amarkdown_supported() == client.markdown_supported()
    with pytest.raises(BindingUnsupported):
        bound.to_markdown(files)
