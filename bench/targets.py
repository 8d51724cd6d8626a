#!/usr/bin/env python3
"""Synthetic scrape targets for the agent benchmarks.

One process serves N targets on N consecutive ports of 127.0.0.1 or --address (GET /metrics on each).
Every target exposes SERIES series in the Prometheus text format (about 75 bytes a line, so
2,000 series are about 150 KB); values change once a second. Bodies are rendered at most once
per target per second, on the first request of that second, and served from memory.

Value shapes, per series: 40 % constant gauges, 30 % integer counters, 20 % float counters,
10 % gauges that take a new random value every second.

    python3 bench/targets.py --port 20000 --targets 50 --series 2000 [--address A] [--ready-file F]
        [--tls-cert CERT --tls-key KEY]

With --tls-cert/--tls-key every port serves HTTPS (Python's ssl module wraps each listening
socket; the handshake runs in the connection's own thread, so a slow client holds up no other).
Connections stay open between requests (HTTP/1.1 keep-alive) either way; no ALPN is offered, so
clients speak HTTP/1.1.
"""
import argparse
import random
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

METHODS = ["GET", "POST", "PUT", "DELETE"]
STATUSES = ["200", "201", "404", "500", "503"]


def series_prefixes(series):
    """Line prefixes (name + labels + space) and shapes; the same label sets for every target,
    the scraper adds instance/job."""
    prefixes, shapes, help_lines = [], [], {}
    families = max(1, series // 20)
    for i in range(series):
        family = i % families
        member = i // families
        name = "app_requests_family_%d" % family
        name += "_total" if 4 <= (family * 7) % 10 < 9 else ""
        shape = (family * 7) % 10
        kind = "gauge" if shape < 4 or shape == 9 else "counter"
        if name not in help_lines:
            help_lines[name] = "# HELP %s Synthetic series for agent benchmarks.\n# TYPE %s %s\n" % (name, name, kind)
        labels = '{method="%s",route="/api/v1/items/%d",status="%s"}' % (
            METHODS[member % 4], member, STATUSES[member % 5])
        prefixes.append((family, (name + labels + " ").encode()))
        shapes.append(0 if shape < 4 else 1 if shape < 7 else 2 if shape < 9 else 3)
    return prefixes, shapes, help_lines, families


class Target:
    def __init__(self, index, prefixes, shapes, help_lines, families):
        self.index = index
        self.prefixes = prefixes
        self.shapes = shapes
        self.help = {name.encode(): text.encode() for name, text in help_lines.items()}
        self.family_names = list(self.help.keys())
        self.families = families
        self.rng = random.Random(index)
        self.values = [float(i % 1000 + index) for i in range(len(shapes))]
        self.second = None
        self.body = b""
        self.lock = threading.Lock()

    def render(self, second):
        rng = self.rng
        values = self.values
        for i, shape in enumerate(self.shapes):
            if shape == 1:
                values[i] += rng.randrange(40)
            elif shape == 2:
                values[i] += rng.randrange(1500) / 100
            elif shape == 3:
                values[i] = rng.randrange(1_000_000_000) / 1024
        # Group lines by family so each family's samples follow its HELP/TYPE lines.
        by_family = [[] for _ in range(self.families)]
        for (family, prefix), value in zip(self.prefixes, values):
            by_family[family].append(prefix + repr(value).encode() + b"\n")
        parts = []
        for family, lines in enumerate(by_family):
            parts.append(self.help[self.family_names[family]])
            parts.extend(lines)
        self.body = b"".join(parts)
        self.second = second

    def current(self):
        second = int(time.time())
        with self.lock:
            if self.second != second:
                self.render(second)
            return self.body


def make_handler(target, counters):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            # The TLS handshake, in this connection's thread (the listening socket was wrapped
            # with do_handshake_on_connect=False so that accept() does not block on it).
            if isinstance(self.request, ssl.SSLSocket):
                self.request.do_handshake()
            super().setup()

        def do_GET(self):
            body = target.current()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            counters[0] += 1
            counters[1] += len(body)

        def log_message(self, *args):
            pass

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", default="127.0.0.1", help="the address to listen on")
    parser.add_argument("--port", type=int, required=True, help="first port; targets use port .. port+N-1")
    parser.add_argument("--targets", type=int, default=50)
    parser.add_argument("--series", type=int, default=2000)
    parser.add_argument("--ready-file", help="written once every port listens")
    parser.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--tls-key", help="the certificate's private key (PEM)")
    args = parser.parse_args()
    context = None
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
    prefixes, shapes, help_lines, families = series_prefixes(args.series)
    counters = [0, 0]
    servers = []
    for index in range(args.targets):
        target = Target(index, prefixes, shapes, help_lines, families)
        target.current()
        server = Server((args.address, args.port + index), make_handler(target, counters))
        if context is not None:
            server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    size = len(Target(0, prefixes, shapes, help_lines, families).current())
    print("serving %d targets × %d series (%d bytes a body) on %s:%d-%d%s"
          % (args.targets, args.series, size, args.address, args.port, args.port + args.targets - 1,
             " over HTTPS" if context else ""), flush=True)
    if args.ready_file:
        with open(args.ready_file, "w") as f:
            f.write("ready\n")
    try:
        while True:
            time.sleep(10)
            print("served %d requests, %.1f MB" % (counters[0], counters[1] / 1e6), flush=True)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
