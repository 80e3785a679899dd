#!/usr/bin/env python3
"""The reference server of bench/run's chops case: Python's `websockets`
(asyncio), echoing every message whole, as bench/echo-server.c's "echo"
protocol does. Subprotocol "echo", messages up to 16 MiB, no compression, no
keepalive pings. Prints the same kind of ready line as echo-server once it
listens; SIGINT / SIGTERM end it.

    py-echo-server.py [-p PORT]
"""

import argparse
import asyncio
import signal
import sys

import websockets
from websockets.asyncio.server import serve


async def echo(ws):
    async for message in ws:
        await ws.send(message)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-p", "--port", type=int, default=7681)
    a = ap.parse_args()
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    async with serve(echo, "127.0.0.1", a.port, subprotocols=["echo"], max_size=16 * 1024 * 1024,
                     compression=None, ping_interval=None):
        print(f"ready port={a.port} version=python-websockets-{websockets.__version__} threads=1 "
              f"loop=asyncio libs=- deflate=0", flush=True)
        await stop


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
