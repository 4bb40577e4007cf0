"""A small HTTP service for tests: listens on $PORT on loopback.

GET /health  200, or 503 while a file named `unhealthy` exists in the directory
GET /env     {"cwd", "pid", "env"} as JSON
Every request is logged to stdout, so the service's log grows as it is used.
"""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/health":
            status = 503 if os.path.exists("unhealthy") else 200
            self.reply(status, {"status": status})
        elif self.path == "/env":
            self.reply(200, {"cwd": os.getcwd(), "pid": os.getpid(), "env": dict(os.environ)})
        else:
            self.reply(404, {})

    def reply(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        print(f"request {format % args}", flush=True)


server = ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
print(f"listening on {server.server_address[1]}", flush=True)
sys.stdout.flush()
server.serve_forever()
