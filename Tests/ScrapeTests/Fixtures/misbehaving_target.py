#!/usr/bin/env python3
"""Scrape targets that misbehave, for the scrape tests. Listens on 127.0.0.1:PORT.

/ok       a valid exposition
/slow     answers after 3 seconds
/huge     a valid but 5 MB body
/garbage  not an exposition at all
/gzip     a gzip-compressed exposition
/status500  HTTP 500
/changing   first request: a, b, c, a repeated, d in two label orders; then a, c, e
/gzipbomb   1 GiB of zeros, gzip-compressed as it is sent (chunked; about 1 MB on the wire)
/manylabels one sample line with 100,000 label pairs, then a valid exposition
/bigbody    a valid 50 MB exposition (about 377,000 series)
/alternating  1,000 series with a 1,000-byte label value each, named a_… and b_… in turn
/badutf8    a label value that is not UTF-8 (line 3)
"""
import gzip
import http.server
import sys
import time
import zlib

# /huge's 5 MB, built once: built per request it took the Python server more than the test's
# 0.8 s scrape timeout on a loaded machine, and the scrape timed out before the size limit hit.
HUGE = b"".join(b"huge_metric{label=\"%s\"} 1\n" % (b"x" * 40 + str(i).encode()) for i in range(80000))
OK = b"# TYPE demo_total counter\ndemo_total 1\ndemo_gauge{a=\"b\"} 2.5\n"
FIRST = b"a 1\nb 2\nc 3\na 9\nd{x=\"1\",y=\"2\"} 4\nd{y=\"2\",x=\"1\"} 5\n"
LATER = b"a 1\nc 3\ne 6\na 7\n"
BADUTF8 = b"# TYPE demo gauge\ndemo{a=\"ok\"} 1\ndemo{a=\"caf\xc3\xa9 \xff\xfe\"} 2\n"
changing_requests = 0
big_body = None
alternating_requests = 0


def alternating(prefix):
    return b"".join(b'%s_metric{id="%d",v="%s"} 1\n' % (prefix, i, b"x" * 1000) for i in range(1000))


def many_labels():
    pairs = b",".join(b'l%d="v"' % i for i in range(100000))
    return b"many_labels{" + pairs + b"} 1\n" + OK


def big():
    global big_body
    if big_body is None:
        pad = b"x" * 100
        lines = []
        size = 0
        i = 0
        while size < 50_000_000:
            line = b'big_metric{id="%d",pad="%s"} 1\n' % (i, pad)
            lines.append(line)
            size += len(line)
            i += 1
        big_body = b"".join(lines)
    return big_body


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def send(self, status, body, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def send_gzip_bomb(self):
        """1 GiB of zeros, compressed 1 MiB at a time as it is sent: nothing is stored."""
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
        zeros = bytes(1 << 20)
        try:
            for _ in range(1024):
                data = compressor.compress(zeros)
                if data:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            data = compressor.flush()
            self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_GET(self):
        if self.path == "/ok":
            self.send(200, OK)
        elif self.path == "/slow":
            time.sleep(3)
            self.send(200, OK)
        elif self.path == "/huge":
            self.send(200, HUGE)
        elif self.path == "/garbage":
            self.send(200, b"this is { not = an exposition\n\x00\x01")
        elif self.path == "/gzip":
            self.send(200, gzip.compress(OK), [("Content-Encoding", "gzip")])
        elif self.path == "/changing":
            global changing_requests
            changing_requests += 1
            self.send(200, FIRST if changing_requests == 1 else LATER)
        elif self.path == "/gzipbomb":
            self.send_gzip_bomb()
        elif self.path == "/manylabels":
            self.send(200, many_labels())
        elif self.path == "/bigbody":
            self.send(200, big())
        elif self.path == "/alternating":
            global alternating_requests
            alternating_requests += 1
            self.send(200, alternating(b"a" if alternating_requests % 2 == 1 else b"b"))
        elif self.path == "/badutf8":
            self.send(200, BADUTF8)
        elif self.path == "/status500":
            self.send(500, b"boom")
        else:
            self.send(404, b"no such path")

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
