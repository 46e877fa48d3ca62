"""A small web site served on 127.0.0.1 for the Browser Run tests (the emulator loads only local pages):
``index.html`` (a heading, a paragraph its script writes, a link to ``about.html`` and one off the host)
``about.html``, and ``cookie.html`` (shows the cookies it was sent)."""

from __future__ import annotations

import functools
import http.server
import tempfile
import threading
from pathlib import Path

PAGES = {
    "index.html": (
        "<html><head><title>Home</title></head><body><h1>Welcome</h1>"
        "<p>Vectorize stores vectors for semantic search.</p>"
        "<a href='/about.html'>About</a> <a href='https://example.com/elsewhere'>Elsewhere</a>"
        "<script>document.body.insertAdjacentHTML('beforeend', '<p id=\"js\">Written by a script.</p>')"
        "</script></body></html>"
    ),
    "cookie.html": "<html><body><script>document.body.textContent = document.cookie</script></body></html>",
    "about.html": (
        "<html><head><title>About</title></head><body><h2>About us</h2><p>We test.</p></body></html>"
    ),
}


class Site:
    """The pages in a temporary directory, served by ``http.server`` on a thread until :meth:`stop`."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="workersai-site-"))
        for name, html in PAGES.items():
            (self.root / name).write_text(html)

        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

        handler = functools.partial(Quiet, directory=str(self.root))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_port}"

    def url(self, name: str = "index.html") -> str:
        return f"{self.base}/{name}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
