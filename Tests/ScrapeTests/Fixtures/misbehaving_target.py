#!/usr/bin/env python3
"""Scrape targets that misbehave, for the scrape tests. Listens on 127.0.0.1:PORT.

/ok       a valid exposition
/slow     answers after 3 seconds
/huge     a valid but 5 MB body
/garbage  not an exposition at all
/gzip     a gzip-compressed exposition
/status500  HTTP 500
/changing   first request: a, b, c, a repeated, d in two label orders; then a, c, e
"""
import gzip
import http.server
import sys
import time

OK = b"# TYPE demo_total counter\ndemo_total 1\ndemo_gauge{a=\"b\"} 2.5\n"
FIRST = b"a 1\nb 2\nc 3\na 9\nd{x=\"1\",y=\"2\"} 4\nd{y=\"2\",x=\"1\"} 5\n"
LATER = b"a 1\nc 3\ne 6\n"
changing_requests = 0


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def send(self, status, body, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/ok":
            self.send(200, OK)
        elif self.path == "/slow":
            time.sleep(3)
            self.send(200, OK)
        elif self.path == "/huge":
            line = b"huge_metric{label=\"%s\"} 1\n"
            self.send(200, b"".join(line % (b"x" * 40 + str(i).encode()) for i in range(80000)))
        elif self.path == "/garbage":
            self.send(200, b"this is { not = an exposition\n\x00\x01")
        elif self.path == "/gzip":
            self.send(200, gzip.compress(OK), [("Content-Encoding", "gzip")])
        elif self.path == "/changing":
            global changing_requests
            changing_requests += 1
            self.send(200, FIRST if changing_requests == 1 else LATER)
        elif self.path == "/status500":
            self.send(500, b"boom")
        else:
            self.send(404, b"no such path")

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
