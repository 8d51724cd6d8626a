"""A stand-in Docker Engine API on a unix socket, for DockerDiscovery's request tests.

Usage: docker_engine_stub.py DIRECTORY SOCKET. Every GET is appended to DIRECTORY/requests.log
("PATH HOST"). /_ping answers 200 with the API-Version header of the file DIRECTORY/version (none
when the file is missing); /vX.Y/containers/json and /vX.Y/networks answer with the status in
DIRECTORY/status (200 when missing) and the body of DIRECTORY/containers.json or
DIRECTORY/networks.json; anything else is a 404 with the engine's error body.
"""
import http.server
import os
import socketserver
import sys

directory, path = sys.argv[1], sys.argv[2]


def read(name):
    try:
        with open(os.path.join(directory, name)) as file:
            return file.read().strip()
    except FileNotFoundError:
        return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, body, headers=()):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        with open(os.path.join(directory, "requests.log"), "a") as log:
            log.write("%s %s\n" % (self.path, self.headers.get("Host", "")))
        parts = self.path.split("?")[0].split("/")
        if self.path == "/_ping":
            version = read("version")
            self.answer(200, "OK", [("API-Version", version)] if version else [])
        elif len(parts) >= 3 and parts[1].startswith("v") and parts[2:] in (["containers", "json"], ["networks"]):
            name = "containers.json" if parts[2] == "containers" else "networks.json"
            self.answer(int(read("status") or "200"), read(name) or "[]")
        else:
            self.answer(404, '{"message": "page not found"}')

    def log_message(self, *args):
        pass

    def address_string(self):
        return "unix"


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


server = Server(path, Handler)
print("serving", flush=True)
server.serve_forever()
