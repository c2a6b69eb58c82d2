"""The relays (scripts/pgwire_proxy.py) in front of the server, in a thread of their own with
their own event loop: they count round trips and inject a delay."""

from __future__ import annotations

import asyncio
import os
import statistics
import threading
import time

import pgwire_proxy
from sqlalchemy.engine import make_url


class Proxies:
    def __init__(self, host: str, port: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.upstream = (host, port)
        self.proxies: list[pgwire_proxy.Proxy] = []

    def new(self) -> pgwire_proxy.Proxy:
        proxy = pgwire_proxy.Proxy(*self.upstream)
        asyncio.run_coroutine_threadsafe(proxy.start(), self.loop).result(10)
        self.proxies.append(proxy)
        return proxy

    def set_delay(self, round_trip: float) -> None:
        for proxy in self.proxies:
            proxy.delay = round_trip

    def added_round_trip_ms(self, tries: int = 200) -> float:
        """What the current delay really adds to one round trip (SELECT 1 on asyncpg)."""
        import asyncpg

        probe = self.new()
        probe.delay = self.proxies[0].delay
        server = make_url(os.environ["TEST_POSTGRES_URL"])

        async def measure(delay: float) -> float:
            probe.delay = delay
            conn = await asyncpg.connect(
                user=server.username,
                password=server.password,
                host="127.0.0.1",
                port=probe.port,
                database="postgres",
            )
            try:
                times = []
                for _ in range(tries):
                    start = time.perf_counter()
                    await conn.execute("SELECT 1")
                    times.append(time.perf_counter() - start)
                return statistics.median(times) * 1000
            finally:
                await conn.close()

        delay = self.proxies[0].delay
        added = asyncio.run(measure(delay)) - asyncio.run(measure(0.0))
        self.proxies.remove(probe)
        asyncio.run_coroutine_threadsafe(probe.stop(), self.loop).result(10)
        return added

    def close(self) -> None:
        for proxy in self.proxies:
            asyncio.run_coroutine_threadsafe(proxy.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
