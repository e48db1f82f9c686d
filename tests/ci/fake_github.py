"""A loopback HTTP server that answers the GitHub REST calls the action's comment step makes.

A fake, because the real GitHub API cannot be reached from these machines (and a test must not post to
a real pull request). It keeps comments in memory, pages them like GitHub (`per_page`, `page`), checks
the bearer token and the JSON headers, and records every request so tests can assert on them.
"""

from __future__ import annotations

import http.server
import json
import re
import threading
from urllib.parse import parse_qs, urlparse

LIST = re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/issues/(?P<number>\d+)/comments$")
ONE = re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/issues/comments/(?P<id>\d+)$")


class FakeGitHub:
    """`url` is the GITHUB_API_URL to use. `comments` maps issue number to a list of comment dicts."""

    def __init__(self, token: str, repo: str) -> None:
        self.token, self.repo = token, repo
        self.comments: dict[int, list[dict]] = {}
        self.requests: list[tuple[str, str]] = []
        self._next_id = 1000
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def do_PATCH(self) -> None:
                fake._handle(self, "PATCH")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, number: int, body: str, user: str = "someone") -> dict:
        self._next_id += 1
        comment = {
            "id": self._next_id,
            "body": body,
            "user": {"login": user, "type": "Bot" if user.endswith("[bot]") else "User"},
            "html_url": f"https://github.example/{self.repo}/pull/{number}#issuecomment-{self._next_id}",
        }
        self.comments.setdefault(number, []).append(comment)
        return comment

    def __enter__(self) -> FakeGitHub:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def _reply(self, handler, status: int, payload: object) -> None:
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _handle(self, handler, method: str) -> None:
        url = urlparse(handler.path)
        self.requests.append((method, handler.path))
        if handler.headers.get("Authorization") != f"Bearer {self.token}":
            return self._reply(handler, 401, {"message": "Bad credentials"})
        if handler.headers.get("Accept") != "application/vnd.github+json":
            return self._reply(handler, 415, {"message": "wrong Accept header"})
        body = None
        if method in ("POST", "PATCH"):
            length = int(handler.headers.get("Content-Length", "0"))
            body = json.loads(handler.rfile.read(length))
        if url.path == "/user":  # as for the workflow's GITHUB_TOKEN (an installation token, not a user)
            return self._reply(handler, 403, {"message": "Resource not accessible by integration"})
        listing, one = LIST.match(url.path), ONE.match(url.path)
        if listing and listing["repo"] == self.repo:
            number = int(listing["number"])
            if method == "GET":
                query = parse_qs(url.query)
                size, page = int(query.get("per_page", ["30"])[0]), int(query.get("page", ["1"])[0])
                items = self.comments.get(number, [])
                return self._reply(handler, 200, items[(page - 1) * size : page * size])
            if method == "POST":
                return self._reply(handler, 201, self.add(number, body["body"], "github-actions[bot]"))
        if one and one["repo"] == self.repo and method == "PATCH":
            for items in self.comments.values():
                for comment in items:
                    if comment["id"] == int(one["id"]):
                        comment["body"] = body["body"]
                        return self._reply(handler, 200, comment)
        return self._reply(handler, 404, {"message": "Not Found"})
