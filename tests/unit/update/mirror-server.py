#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A definitions mirror that misbehaves on request, for tests/unit/update/test-update.c.

Serves the directory --root on 127.0.0.1 over HTTPS (one port per --https CERT KEY pair, in that
order), plain HTTP (one port) and an HTTP CONNECT proxy (one port, logging each tunnel to --log).
Every port is chosen by the kernel; once all listen, one JSON line goes to stdout:
    {"https": [PORT, ...], "http": PORT, "proxy": PORT}
The server exits when its stdin reaches EOF (the test holds the other end) or on SIGTERM.

The first component of a request path picks the behaviour, the rest names a file below --root:
    /ok/PATH              the file
    /slow/PATH            the real Content-Length, then one byte per second (slow loris)
    /endless/PATH         no Content-Length, an endless body
    /truncate/PATH        the real Content-Length, half the file, then close
    /huge/PATH            a Content-Length of 1 TiB, then an endless body
    /notfound/PATH        404
    /redirect-file/PATH   302 to file://ROOT/PATH
    /redirect-http/PATH   302 to http://127.0.0.1:HTTP_PORT/ok/PATH
    /redirect-https/PATH  302 to https://127.0.0.1:SECOND_HTTPS_PORT/ok/PATH (another port)
    /redirect-loop/PATH   302 to itself
A mode with the suffix "-data" ("slow-data") applies only to the files the manifest lists:
manifest.json and manifest.json.sig are then served as by "ok".
"""

import argparse
import http.server
import json
import os
import select
import signal
import socket
import socketserver
import ssl
import sys
import threading
import time

ARGS = None
PORTS = {}
LOG_LOCK = threading.Lock()
CHUNK = b"A" * 65536


def log(line):
    if not ARGS.log:
        return
    with LOG_LOCK:
        with open(ARGS.log, "a", encoding="utf-8") as f:
            f.write(line + "\n")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # Clients abort on purpose (limits, TLS failures): not worth a traceback.
        pass


class MirrorHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        headers = getattr(self, "headers", None)
        log("%s %s user-agent=%s cookie=%s" % (
            self.server.name, format % args,
            headers.get("User-Agent") if headers else None,
            headers.get("Cookie") if headers else None))

    def send_plain(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802 (http.server's naming)
        try:
            self.serve()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, TimeoutError):
            self.close_connection = True

    def serve(self):
        parts = self.path.split("?", 1)[0].lstrip("/").split("/", 1)
        if len(parts) != 2 or ".." in parts[1].split("/"):
            self.send_plain(400, b"bad path\n")
            return
        mode, rest = parts
        if mode.endswith("-data"):
            mode = mode[:-len("-data")]
            if os.path.basename(rest) in ("manifest.json", "manifest.json.sig"):
                mode = "ok"
        path = os.path.join(ARGS.root, rest)

        if mode == "notfound":
            self.send_plain(404, b"not found\n")
            return
        if mode.startswith("redirect-"):
            target = {
                "redirect-file": "file://%s" % path,
                "redirect-http": "http://127.0.0.1:%d/ok/%s" % (PORTS["http"], rest),
                "redirect-https": "https://127.0.0.1:%d/ok/%s" % (PORTS["https"][1], rest),
                "redirect-loop": "/redirect-loop/%s" % rest,
            }.get(mode)
            if not target:
                self.send_plain(400, b"unknown mode\n")
                return
            self.send_plain(302, b"", [("Location", target)])
            return

        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            self.send_plain(404, b"not found\n")
            return

        if mode == "ok":
            self.send_plain(200, data)
        elif mode == "slow":
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.flush()
            for i in range(len(data)):
                self.wfile.write(data[i:i + 1])
                self.wfile.flush()
                time.sleep(1)
        elif mode in ("endless", "huge"):
            self.close_connection = True
            self.send_response(200)
            if mode == "huge":
                self.send_header("Content-Length", str(1 << 40))
            self.send_header("Connection", "close")
            self.end_headers()
            while True:
                self.wfile.write(CHUNK)
        elif mode == "truncate":
            self.close_connection = True
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
        else:
            self.send_plain(400, b"unknown mode\n")


class ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass

    def do_CONNECT(self):  # noqa: N802
        host, _, port = self.path.rpartition(":")
        log("CONNECT %s" % self.path)
        if host != "127.0.0.1":
            self.send_response(403)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        try:
            upstream = socket.create_connection((host, int(port)), timeout=10)
        except OSError:
            self.send_response(502)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        sockets = [self.connection, upstream]
        try:
            while True:
                readable, _, _ = select.select(sockets, [], [], 30)
                if not readable:
                    break
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    (upstream if s is self.connection else self.connection).sendall(data)
        except OSError:
            pass
        finally:
            upstream.close()

    def do_GET(self):  # noqa: N802
        self.send_response(501)
        self.send_header("Content-Length", "0")
        self.end_headers()


def make_server(name, handler, context=None):
    server = Server(("127.0.0.1", 0), handler)
    server.name = name
    if context:
        # The handshake happens in the handler's thread, so that a client that never completes
        # it cannot stall the accept loop.
        server.socket = context.wrap_socket(server.socket, server_side=True,
                                            do_handshake_on_connect=False)
    return server


def main():
    global ARGS  # pylint: disable=global-statement
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--https", nargs=2, action="append", metavar=("CERT", "KEY"),
                        default=[])
    parser.add_argument("--log")
    ARGS = parser.parse_args()

    servers = []
    https_ports = []
    for cert, key in ARGS.https:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server = make_server("https", MirrorHandler, context)
        servers.append(server)
        https_ports.append(server.server_address[1])
    plain = make_server("http", MirrorHandler)
    proxy = make_server("proxy", ProxyHandler)
    servers += [plain, proxy]
    PORTS.update(https=https_ports, http=plain.server_address[1], proxy=proxy.server_address[1])

    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    print(json.dumps(PORTS), flush=True)
    # Until the test closes our stdin (or dies).
    while sys.stdin.buffer.read(4096):
        pass
    os._exit(0)


if __name__ == "__main__":
    main()
