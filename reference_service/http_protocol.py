"""uvicorn's h11 protocol with the guards the service needs against slow and oversized requests.

uvicorn (0.54, h11) on its own has three gaps a public endpoint cannot live with:

* **No header-read timeout.** A connection that sends half a request head and then idles is kept
  forever, and (with ``limit_concurrency``) counts against the connection limit: 64 of them kept
  ``/healthz`` at 503. Here a connection must complete each request head within ``header_timeout``
  seconds of the server starting to wait for it; otherwise it gets ``408`` (if it sent anything) and
  is closed.
* **Oversized heads are answered 400, then the socket is closed with unread data in it,** which makes
  the kernel send a reset: the client sees ``ECONNRESET`` instead of an answer. h11 already knows the
  right status (``RemoteProtocolError.error_status_hint`` is 431 for "Receive buffer too long");
  here it is used, and the connection is closed *lingering*: the response is sent, our side of the
  stream is shut (FIN), and whatever the client still sends is read and discarded (bounded in time
  and bytes) until it closes, so the answer is not destroyed by a reset.
* **One limit for everything.** ``limit_concurrency`` counts idle and half-open connections too.
  Here the total of open connections has its own cap (``max_connections``: beyond it a new
  connection is closed at once), and uploads in flight are limited separately by the application
  (``server.AdmissionMiddleware``), so cheap probes like ``/healthz`` are not starved by slow clients.

Every drop is reported through ``on_drop(reason)`` (the service counts them in
``gmnet_connections_dropped_total``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import STATUS_PHRASES, H11Protocol

log = logging.getLogger("reference_service.http")

DropHook = Callable[[str], None]
LINGER_SECONDS = 2.0
LINGER_MAX_BYTES = 16 * 1024 * 1024
_TIMEOUT_BODY = b"request head not received in time"
# Written raw: h11 cannot send a response before it has parsed a request.
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(_TIMEOUT_BODY), _TIMEOUT_BODY)
)


class GuardedH11Protocol(H11Protocol):
    """H11Protocol plus a header-read timeout, 431 with a lingering close, and a connection cap.

    Configure with :func:`guarded_protocol`, which returns a subclass carrying the settings (uvicorn
    builds the protocol itself, from a class).
    """

    header_timeout: float = 10.0
    max_connections: int = 1024
    on_drop: DropHook = staticmethod(lambda reason: None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._linger_timer: asyncio.TimerHandle | None = None
        self._linger_budget = 0
        self._protocol_error: h11.RemoteProtocolError | None = None
        # uvicorn's handle_events swallows h11's error and its status hint; keep the error so
        # send_400_response can answer with the status h11 recommends (431 for an oversized head).
        next_event = self.conn.next_event

        def recording_next_event() -> Any:
            try:
                return next_event()
            except h11.RemoteProtocolError as exc:
                self._protocol_error = exc
                raise

        self.conn.next_event = recording_next_event  # type: ignore[method-assign]

    # -- connection lifecycle ------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            log.warning(
                "closing a new connection: %d open, the limit is %d", len(self.connections), self.max_connections
            )
            self.on_drop("too_many_connections")
            transport.close()
            return
        self._sync_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel(self._header_timer)
        self._cancel(self._linger_timer)
        self._header_timer = self._linger_timer = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._linger_timer is not None:  # answered and closing: discard what still arrives
            self._linger_budget -= len(data)
            if self._linger_budget <= 0:
                self.transport.close()
            return
        super().data_received(data)

    def handle_events(self) -> None:
        super().handle_events()
        self._sync_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._sync_header_timer()

    def shutdown(self) -> None:
        if self._linger_timer is not None or self.conn.their_state is h11.ERROR:
            self.transport.close()
            return
        super().shutdown()

    # -- header-read timeout ---------------------------------------------------------------
    def _waiting_for_head(self) -> bool:
        return (
            self.conn.their_state is h11.IDLE
            and self.transport is not None
            and not self.transport.is_closing()
            and self._linger_timer is None
        )

    def _sync_header_timer(self) -> None:
        """Arm the timer while a request head is awaited; cancel it once the head is complete."""
        if self._waiting_for_head():
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)
        elif self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _head_timed_out(self) -> None:
        self._header_timer = None
        if not self._waiting_for_head():
            return
        partial = bool(self.conn.trailing_data[0])
        log.debug(
            "closing connection from %s: request head incomplete after %.0f s", _peer(self.client), self.header_timeout
        )
        self.on_drop("header_timeout")
        if partial:  # a client that started a request gets told why; an idle one is just closed
            self.transport.write(_TIMEOUT_RESPONSE)
        self.transport.close()

    # -- malformed and oversized heads -----------------------------------------------------
    def send_400_response(self, msg: str) -> None:
        """Answer a request h11 refused (431 when the head is too large, else 400), then linger."""
        error, self._protocol_error = self._protocol_error, None
        status = error.error_status_hint if error is not None else 400
        if status == 431:
            limit = self.config.h11_max_incomplete_event_size
            msg = f"request head too large (the limit is {limit} bytes)"
            self.on_drop("headers_too_large")
        else:
            status = 400
            self.on_drop("bad_request")
        log.info("answering %d to %s: %s", status, _peer(self.client), msg)
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")]
        try:
            for event in (
                h11.Response(status_code=status, headers=headers, reason=STATUS_PHRASES[status]),
                h11.Data(data=msg.encode("ascii", "replace")),
                h11.EndOfMessage(),
            ):
                self.transport.write(self.conn.send(event))
        except h11.LocalProtocolError:  # a response was already under way: nothing to add
            self.transport.close()
            return
        self._linger()

    def _linger(self) -> None:
        """Half-close and discard input until the client closes (or time/bytes run out).

        Closing a socket that still has unread input makes the kernel send RST, which can destroy
        the response before the client reads it.
        """
        self._cancel(self._header_timer)
        self._header_timer = None
        self._linger_budget = LINGER_MAX_BYTES
        self._linger_timer = self.loop.call_later(LINGER_SECONDS, self.transport.close)
        self.flow.resume_reading()
        if self.transport.can_write_eof():
            self.transport.write_eof()

    @staticmethod
    def _cancel(timer: asyncio.TimerHandle | None) -> None:
        if timer is not None:
            timer.cancel()


def _peer(client: tuple[str, int] | None) -> str:
    return f"{client[0]}:{client[1]}" if client else "unknown peer"


def guarded_protocol(*, header_timeout: float, max_connections: int, on_drop: DropHook) -> type[GuardedH11Protocol]:
    """A :class:`GuardedH11Protocol` subclass with these settings, for ``uvicorn.Config(http=...)``."""
    return type(
        "ServiceH11Protocol",
        (GuardedH11Protocol,),
        {"header_timeout": header_timeout, "max_connections": max_connections, "on_drop": staticmethod(on_drop)},
    )
