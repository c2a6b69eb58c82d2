"""A PostgreSQL wire-protocol relay on 127.0.0.1 that counts round trips and can add delay.

One job: sit between a client and a PostgreSQL server, pass every byte through unchanged,
and count round trips: each time the server answers after the client has sent something, the
client waited a network round trip for it (a simple Query; asyncpg's Parse-Describe-Flush of
a new statement, then its Bind-Execute-Sync; each step of the login). It also counts the
server's ReadyForQuery messages and the statements the client sent (Query and Parse).

`delay` (seconds, changeable while it runs) holds back every chunk from the server that
long, so each round trip gains `delay` once: this kernel has no netem, and the relay stands
in for a network. Bytes keep their order. The event loop sleeps in whole milliseconds, so
measure what a delay really adds (scripts/bench/ does) rather than trusting the setting. TLS cannot
be read: round trips are still counted (they need no parsing), the other counts stop.

    proxy = Proxy(upstream_host, upstream_port)
    await proxy.start()                 # proxy.port is where clients connect
    before = proxy.round_trips
    ...                                 # one request
    used = proxy.round_trips - before
    await proxy.stop()

Faults, for the fault tests (a relay stands in for a network that misbehaves; it also relays
MySQL's protocol, where only the PostgreSQL counts and `drop_commit_answer` do not apply):

    proxy.blackhole = True      # forward nothing either way, close nothing (a NAT that forgot)
    proxy.trickle = 0.05        # the server's bytes one at a time, this many seconds apart
    proxy.refuse = True         # close each new connection at once (a server restarting)
    proxy.reset()               # abort every open connection (RST): a crash, a failover
    proxy.sever()               # each open connection closes at the client's next message,
                                # which never reaches the server (an idle close not yet seen)
    proxy.drop_commit_answer()  # the next COMMIT reaches the server; its answer is lost and
                                # that connection aborted (was the write stored? it was)

Standard library only.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Callable

SSL_REQUEST = 80877103
GSS_REQUEST = 80877104


class Proxy:
    def __init__(self, upstream_host: str, upstream_port: int, delay: float = 0.0) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.delay = delay
        self.round_trips = 0
        self.ready_for_query = 0
        self.statements = 0
        self.connections = 0
        self.port = 0
        self.blackhole = False
        self.trickle = 0.0
        self.refuse = False
        self.commits_dropped = 0
        self._drop_commit = False
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task] = set()
        self._links: set[Link] = set()

    def reset(self) -> None:
        for link in list(self._links):
            link.abort()

    def sever(self) -> None:
        for link in self._links:
            link.severed = True

    def drop_commit_answer(self) -> None:
        self._drop_commit = True

    async def start(self, port: int = 0) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter):
        if self.refuse:
            client_w.close()
            return
        try:
            server_r, server_w = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_w.close()
            return
        self.connections += 1
        link = Link(client_w, server_w)
        self._links.add(link)
        frontend = FrontendCounter(self, link)
        backend = BackendCounter(self, frontend)
        up = asyncio.create_task(self._pump(link, client_r, server_w, frontend.feed, False))
        down = asyncio.create_task(self._pump(link, server_r, client_w, backend.feed, True))
        self._tasks |= {up, down}
        await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
        for task in (up, down):
            task.cancel()
        for writer in (client_w, server_w):
            writer.close()
        self._tasks -= {up, down}
        self._links.discard(link)

    async def _pump(
        self,
        link: Link,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        count: Callable[[bytes], None],
        delayed: bool,
    ) -> None:
        """Copy reader to writer in order; with `delayed`, each chunk `delay` after it came."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def send() -> None:
            while True:
                due, chunk = await queue.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                while self.blackhole:  # noqa: ASYNC110 - a fault held until a test lifts it
                    await asyncio.sleep(0.01)
                if link.severed or (delayed and link.drop_answer):
                    if delayed:
                        self.commits_dropped += link.drop_answer
                    link.abort()
                    return
                if delayed and self.trickle:
                    for i in range(len(chunk)):
                        writer.write(chunk[i : i + 1])
                        await writer.drain()
                        await asyncio.sleep(self.trickle)
                else:
                    writer.write(chunk)
                await writer.drain()

        sender = asyncio.create_task(send())
        try:
            while chunk := await reader.read(65536):
                count(chunk)
                queue.put_nowait((time.monotonic() + (self.delay if delayed else 0), chunk))
            while not queue.empty():  # noqa: ASYNC110 - a drain, not a wait for an event
                await asyncio.sleep(0.001)
            await asyncio.sleep(self.delay if delayed else 0)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            sender.cancel()


class Link:
    """One relayed connection: the client's socket and the server's."""

    def __init__(self, client: asyncio.StreamWriter, server: asyncio.StreamWriter) -> None:
        self.client = client
        self.server = server
        self.severed = False
        self.drop_answer = False  # the answer to a COMMIT the server got

    def abort(self) -> None:
        for writer in (self.client, self.server):
            writer.transport.abort()


class FrontendCounter:
    """Client to server: the startup packet has no type byte; then typed messages."""

    def __init__(self, proxy: Proxy, link: Link) -> None:
        self.proxy = proxy
        self.link = link
        self.buffer = b""
        self.started = False
        self.encryption_requests = 0  # each is answered by one untyped byte
        self.waiting = False  # the client sent something the server has not answered yet
        self.encrypted = False  # the server said yes to TLS: nothing more can be parsed

    def feed(self, chunk: bytes) -> None:
        self.waiting = True
        if self.encrypted:
            return
        self.buffer += chunk
        while True:
            if not self.started:
                if len(self.buffer) < 8:
                    return
                length, code = struct.unpack("!II", self.buffer[:8])
                if len(self.buffer) < length:
                    return
                self.buffer = self.buffer[length:]
                if code in (SSL_REQUEST, GSS_REQUEST):
                    self.encryption_requests += 1
                else:
                    self.started = True
                continue
            if len(self.buffer) < 5:
                return
            kind = self.buffer[:1]
            (length,) = struct.unpack("!I", self.buffer[1:5])
            if len(self.buffer) < 1 + length:
                return
            if kind in (b"Q", b"P"):
                self.proxy.statements += 1
            if kind == b"Q" and self.proxy._drop_commit:
                if self.buffer[5 : 1 + length].lstrip().upper().startswith(b"COMMIT"):
                    self.proxy._drop_commit = False
                    self.link.drop_answer = True
            self.buffer = self.buffer[1 + length :]


class BackendCounter:
    """Server to client: one byte ('N') answers each SSL or GSS request; then typed messages.
    The first chunk after the client spoke ends a round trip."""

    def __init__(self, proxy: Proxy, frontend: FrontendCounter) -> None:
        self.proxy = proxy
        self.frontend = frontend
        self.buffer = b""

    def feed(self, chunk: bytes) -> None:
        if self.frontend.waiting:  # the first answer to what the client sent
            self.frontend.waiting = False
            self.proxy.round_trips += 1
        if self.frontend.encrypted:
            return
        self.buffer += chunk
        while self.frontend.encryption_requests and self.buffer:
            self.frontend.encryption_requests -= 1
            if self.buffer[:1] == b"S":  # TLS from here on
                self.frontend.encrypted = True
                self.frontend.buffer = self.buffer = b""
                return
            self.buffer = self.buffer[1:]
        while len(self.buffer) >= 5:
            kind = self.buffer[:1]
            (length,) = struct.unpack("!I", self.buffer[1:5])
            if len(self.buffer) < 1 + length:
                return
            if kind == b"Z":
                self.proxy.ready_for_query += 1
            self.buffer = self.buffer[1 + length :]
