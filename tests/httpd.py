#!/usr/bin/env python3
"""tests/httpd.py: a real HTTP server on 127.0.0.1 for the tests.

usage: httpd.py PORTFILE LOGFILE

Listens on a free port, writes it to PORTFILE, and appends every request
it gets to LOGFILE as a JSON line {method, path, headers, body}. Answers:
  /status/N      status N with a small JSON body
  /slow/S        waits S seconds, then 200
  /redirect/N    302 to /redirect/N-1, and /redirect/0 is 200
  anything else  200 with {method, path, headers, body} echoed as JSON
"""
import http.server
import json
import sys
import time

PORTFILE, LOG = sys.argv[1], sys.argv[2]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True   # headers and body go out at once: no delayed-ACK stalls

    def log_message(self, *args):
        pass

    def reply(self, code, body, headers=()):
        data = json.dumps(body, sort_keys=True).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
        seen = {"method": self.command, "path": self.path, "start": time.time(),
                "client": self.client_address[1],
                "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
        with open(LOG, "a") as f:
            f.write(json.dumps(seen, sort_keys=True) + "\n")
        parts = self.path.split("?")[0].strip("/").split("/")
        if parts[0] == "status" and len(parts) > 1:
            self.reply(int(parts[1]), {"status": int(parts[1])})
        elif parts[0] == "slow" and len(parts) > 1:
            time.sleep(float(parts[1]))
            self.reply(200, {"slept": float(parts[1]), "start": seen["start"], "end": time.time()})
        elif parts[0] == "redirect" and len(parts) > 1 and int(parts[1]) > 0:
            self.reply(302, {}, [("Location", "/redirect/%d" % (int(parts[1]) - 1))])
        else:
            seen.pop("start")
            seen.pop("client")
            self.reply(200, seen)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = any


class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 256   # http.all opens many connections at once
    daemon_threads = True


server = Server(("127.0.0.1", 0), Handler)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(PORTFILE + ".tmp", PORTFILE)
server.serve_forever()
