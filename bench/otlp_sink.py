"""A stand-in OpenTelemetry collector for `make bench-traced`: accepts OTLP/HTTP trace
exports on 127.0.0.1 (POST /v1/traces), answers 200 with an empty response and keeps
only counts (requests, bytes). It runs outside the stack, as a collector would, so its
CPU is not counted in the benchmark's CPU per order; what the services spend building,
encoding and sending their spans is.

    python -m bench.otlp_sink --port 4318     # until SIGTERM/SIGINT
"""

from __future__ import annotations

import argparse
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType


class _Counts:
    requests = 0
    body_bytes = 0
    lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        with _Counts.lock:
            _Counts.requests += 1
            _Counts.body_bytes += length
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return  # one line per export would be the sink's main cost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=4318)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), _Handler)

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.serve_forever()
    print(f"otlp sink: {_Counts.requests} exports, {_Counts.body_bytes / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
