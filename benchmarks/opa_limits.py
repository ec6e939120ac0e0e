"""How long and how much memory a hostile OPA server can take from aigate: measured, never judged.

    python benchmarks/opa_limits.py            # the remote engine's total deadline and response cap
    python benchmarks/opa_limits.py --before   # also opa_client's own query_rule, as the engine used it

Two servers on 127.0.0.1, started here: one trickles a byte every 0.1 s for up to 30 s after its
headers; one sends a 600 MB chunked JSON body as fast as the client reads. For each, aigate's
`RemoteOpaEngine` (timeout 3 s, default 32 MiB cap) is timed and its peak memory growth (ru_maxrss,
in a fresh child process per measurement) reported. With --before, the same against opa_client's
`query_rule`, which the engine called before: a per-read timeout and the whole body in memory.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TRICKLE_SECONDS = 30
BIG_BYTES = 600 * 1024 * 1024


def _serve(kind: str) -> tuple[socket.socket, str]:
    listener = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"

    def handle(connection: socket.socket) -> None:
        with connection:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = connection.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                ),
                0,
            )
            while len(body) < length:
                body += connection.recv(65536)
            try:
                if kind == "trickle":
                    connection.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
                    )
                    for _ in range(TRICKLE_SECONDS * 10):
                        time.sleep(0.1)
                        connection.sendall(b" ")
                else:
                    connection.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                    )
                    piece = b'{"result": "' + b"x" * 65500
                    sent = 0
                    while sent < BIG_BYTES:
                        connection.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                        sent += len(piece)
                        piece = b"x" * 65536
                    connection.sendall(b'3\r\n"}\n\r\n0\r\n\r\n')
            except OSError:
                pass

    def accept() -> None:
        while True:
            connection, _ = listener.accept()
            threading.Thread(target=handle, args=(connection,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return listener, url


_CHILD = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
url, client = sys.argv[2], sys.argv[3]
if client == "aigate":
    from aigate.engines.opa_server import OpaConnection, RemoteOpaEngine
    call = RemoteOpaEngine(OpaConnection((url,), timeout=3.0, retries=0)).evaluate
else:
    from urllib.parse import urlsplit
    from opa_client import OpaClient
    parts = urlsplit(url)
    client = OpaClient(host=parts.hostname, port=parts.port, retries=0, timeout=3.0)
    call = lambda document: client.query_rule(document, "aigate", "decision")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.monotonic()
try:
    call({"pr": {}})
    outcome = "answered"
except Exception as e:
    outcome = " ".join(str(e).split())[:140]
elapsed = time.monotonic() - started
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"seconds": round(elapsed, 2), "peak_growth_mb": round(grown / 1024, 1), "outcome": outcome}))
"""


def measure(url: str, client: str) -> dict[str, object]:
    completed = subprocess.run(
        [sys.executable, "-c", _CHILD, str(REPO), url, client],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    result: dict[str, object] = json.loads(completed.stdout)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", action="store_true", help="also measure opa_client's query_rule")
    args = parser.parse_args()
    clients = ["aigate", "opa_client"] if args.before else ["aigate"]
    print("| server | client | seconds | peak memory growth (MB) | result |")
    print("|---|---|---:|---:|---|")
    for kind, what in (("trickle", f"1 byte / 0.1 s for {TRICKLE_SECONDS} s"), ("big", "600 MB chunked body")):
        listener, url = _serve(kind)
        for client in clients:
            result = measure(url, client)
            print(f"| {what} | {client} | {result['seconds']} | {result['peak_growth_mb']} | {result['outcome']} |")
        listener.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
