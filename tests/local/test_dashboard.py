"""The dashboard at ``/__local__/``: what it shows (over HTTP), who may see it, that it escapes what
requests put in it, and the page in a real headless Chromium (marked ``browser``)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ai_search_instance
from workersai import WorkersAI
from workersai.local import LocalEmulator
from workersai.local.browser_engine import CHROMIUM_FLAGS, DEFAULT_CHROMIUM
from workersai.local.dashboard import COOKIE

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
"""Where the browser test keeps its screenshot (gitignored)."""
HOSTILE = "<script>alert(1)</script>"


def page_of(emulator: LocalEmulator) -> str:
    answer = httpx.get(f"{emulator.url}/__local__/", headers={"Authorization": f"Bearer {emulator.token}"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    return answer.text


@pytest.fixture
def index(client: WorkersAI) -> str:
    name = f"dash-{uuid.uuid4().hex[:8]}"
    client.vectorize.create_index(name, dimensions=4)
    client.vectorize.create_metadata_index(name, "genre", "string", wait=True)
    client.vectorize.insert(
        name,
        [{"id": f"v{i}", "values": [1.0, i, 0.0, 0.5], "metadata": {"genre": "x"}} for i in range(3)],
        wait=True,
    )
    return name


def test_the_page_shows_indexes_with_counts_and_the_requests_just_made(
    emulator: LocalEmulator, client: WorkersAI, index: str
) -> None:
    client.embed(["dashboard probe"], model="@cf/baai/bge-small-en-v1.5")
    usage = client.chat("Say hi.", model="@cf/meta/llama-3.1-8b-instruct-fast", max_tokens=4).usage
    text = page_of(emulator)
    assert usage is not None
    chat = text[text.index("/ai/run/@cf/meta/llama-3.1-8b-instruct-fast") :].split("</tr>")[0]
    assert f'<td class="n">{usage.prompt_tokens} + {usage.completion_tokens}</td>' in chat
    row = text[text.index(f"<td>{index}</td>") :].split("</tr>")[0]
    assert '<td class="n">3</td>' in row and "genre (string)" in row
    assert "/ai/run/@cf/baai/bge-small-en-v1.5" in text
    assert f"/__local__/dashboard/indexes/{emulator.account_id}/{index}" in text


def test_the_json_links_answer(emulator: LocalEmulator, index: str) -> None:
    headers = {"Authorization": f"Bearer {emulator.token}"}
    indexes = f"{emulator.url}/__local__/dashboard/indexes/{emulator.account_id}"
    one = httpx.get(f"{indexes}/{index}", headers=headers)
    assert one.status_code == 200
    assert one.json()["info"]["vectorCount"] == 3 and one.json()["metadata_indexes"] == {"genre": "string"}
    everything = httpx.get(f"{emulator.url}/__local__/dashboard.json", headers=headers).json()
    assert index in [i["name"] for i in everything["indexes"]]
    newest = everything["requests"][0]
    entry = httpx.get(f"{emulator.url}/__local__/dashboard/requests/{newest['id']}", headers=headers)
    assert entry.status_code == 200 and entry.json()["path"] == newest["path"]
    gone = httpx.get(f"{indexes}/nope", headers=headers)
    assert gone.status_code == 404


def test_ai_search_instances_and_d1_databases_are_listed_with_links(
    emulator: LocalEmulator, client: WorkersAI
) -> None:
    database = client.d1.create_database(f"dash-{uuid.uuid4().hex[:8]}")
    client.d1.query(database.uuid, "CREATE TABLE t (x)")
    headers = {"Authorization": f"Bearer {emulator.token}"}
    try:
        with ai_search_instance(emulator, {"tide.md": "The tide comes in twice a day."}) as (_, name):
            text = page_of(emulator)
            searched = text[text.index(f"<td>{name}</td>") :].split("</tr>")[0]
            assert "<td>default</td>" in searched and '<td class="n">1</td>' in searched  # one item
            link = f"/__local__/dashboard/ai-search/{emulator.account_id}/default/{name}"
            assert link in searched
            assert httpx.get(emulator.url + link, headers=headers).json()["stats"]["completed"] == 1
        row = text[text.index(f"<td>{database.name}</td>") :].split("</tr>")[0]
        assert '<td class="n">1</td>' in row  # one table
        link = f"/__local__/dashboard/d1/{emulator.account_id}/{database.uuid}"
        assert link in row
        assert httpx.get(emulator.url + link, headers=headers).json()["name"] == database.name
    finally:
        client.d1.delete_database(database.uuid)


def test_the_page_wants_the_token_once_then_a_cookie(emulator: LocalEmulator) -> None:
    root = f"{emulator.url}/__local__/"
    assert httpx.get(root).status_code == 401
    assert httpx.get(f"{emulator.url}/__local__/dashboard.json").status_code == 401
    assert httpx.get(root, params={"token": "wrong"}).status_code == 401
    with httpx.Client() as browser:
        moved = browser.get(root, params={"token": emulator.token})
        assert moved.status_code == 303 and moved.headers["location"] == "/__local__/"
        cookie = moved.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/__local__" in cookie
        assert browser.get(root).status_code == 200
        assert browser.get(f"{emulator.url}/__local__/dashboard.json").status_code == 200
        assert COOKIE in browser.cookies


def test_what_requests_put_in_the_page_is_escaped(emulator: LocalEmulator) -> None:
    url = f"{emulator.base_url}/accounts/{emulator.account_id}/ai/run/@cf/{HOSTILE}"
    httpx.post(url, json={"text": "x"}, headers={"Authorization": f"Bearer {emulator.token}"})
    text = page_of(emulator)
    assert HOSTILE not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_scripts_in_force_are_shown(emulator: LocalEmulator) -> None:
    emulator.script("@cf/meta/llama-3.1-8b-instruct-fast", text=f"Hi {HOSTILE}", contains="weather", times=2)
    text = page_of(emulator)
    row = text[text.index('data-testid="scripts"') :].split("</tbody>")[0]
    assert "@cf/meta/llama-3.1-8b-instruct-fast" in row and "contains: weather" in row
    assert "text: Hi &lt;script&gt;" in row and "0 / 2" in row
    assert HOSTILE not in text


def test_faults_in_force_are_shown(emulator: LocalEmulator) -> None:
    emulator.set_faults(error="3040", fail_next=2, models=["@cf/some/model"])
    text = page_of(emulator)
    assert "&quot;fail_next&quot;: 2" in text and "@cf/some/model" in text


# -- in a real browser ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    if shutil.which(DEFAULT_CHROMIUM) is None:
        pytest.skip(
            f"no Chromium at {DEFAULT_CHROMIUM}: apt-get install chromium (Debian's package) to run it"
        )
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright (the dev extra) is not installed"
    )
    with sync_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=DEFAULT_CHROMIUM, args=list(CHROMIUM_FLAGS))
        yield browser
        browser.close()


def test_the_dashboard_in_a_browser_shows_the_request_just_made(
    chromium: Any, emulator: LocalEmulator, client: WorkersAI, index: str
) -> None:
    probe = f"browser probe {uuid.uuid4().hex[:6]}"
    client.vectorize.query(index, [1.0, 1.0, 0.0, 0.5], top_k=2)
    client.embed([probe], model="@cf/baai/bge-small-en-v1.5")
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{emulator.url}/__local__/?token={emulator.token}")
        assert page.url == f"{emulator.url}/__local__/"  # the token left the address
        assert page.title() == "workersai-local"
        requests = page.get_by_test_id("requests")
        newest = requests.locator("tbody tr").first
        assert "/ai/run/@cf/baai/bge-small-en-v1.5" in newest.inner_text()
        assert f"/vectorize/v2/indexes/{index}/query" in requests.inner_text()
        assert page.locator("script").count() == 0
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "dashboard.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"dashboard screenshot: {shot}")
        assert shot.stat().st_size > 10_000
        page.get_by_test_id("indexes").locator("tr", has_text=index).get_by_role("link").click()
        assert page.url.endswith(f"/__local__/dashboard/indexes/{emulator.account_id}/{index}")
        assert '"vectorCount":3' in page.inner_text("body").replace(" ", "")
    finally:
        page.close()
