"""A local stand-in for GOV.UK Notify's API, reached by the real `notifications-python-client`
through NOTIFY_BASE_URL (issue 18 Tests). It answers the documented endpoints
(POST /v2/notifications/sms, /email, /letter) as Notify does: 201 with the notification's id,
400 for an invalid number, 429 for the rate limit, 500; checks the client's JSON Web Token
(HS256, issuer = the service id, signed with the key's secret); and records every request.

Used by the tests (tests/messaging/conftest.py) and by `make bench` (docs/bench_messages.py).
"""

import json
import socket
import threading
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt

SERVICE_ID = "6f1b1c6e-8a59-4b5e-9c1e-1d2f3a4b5c6d"
SECRET = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
API_KEY = f"test_key-{SERVICE_ID}-{SECRET}"

ERRORS = {
    400: ("BadRequestError", "phone_number Not a UK mobile number"),
    403: ("AuthError", "Invalid token: signature, api token not found"),
    429: (
        "RateLimitError",
        "Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds",
    ),
    500: ("Exception", "Internal server error"),
}


class NotifyStandIn:
    def __init__(self):
        self.requests: list[dict] = []
        self.script: deque[int] = deque()  # status codes to answer next, in order
        self.by_recipient: dict[str, int] = {}  # a number or address that always fails
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def answer(self, *codes: int) -> None:
        """The next requests get these status codes (then 201 again)."""
        with self.lock:
            self.script.extend(codes)

    def sent(self) -> list[dict]:
        """The notifications Notify accepted (201), in order."""
        with self.lock:
            return [r for r in self.requests if r["status"] == 201]

    def _decide(self, body: dict) -> int:
        recipient = body.get("phone_number") or body.get("email_address") or ""
        with self.lock:
            if recipient in self.by_recipient:
                return self.by_recipient[recipient]
            return self.script.popleft() if self.script else 201

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def setup(self):
                super().setup()
                # Headers and body go in separate writes: without this, Nagle's algorithm and
                # the client's delayed ACK add 40 ms to every answer.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, *args):
                pass

            def _reply(self, status: int, payload: dict):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                kind = self.path.rstrip("/").rsplit("/", 1)[-1]
                status = standin._authorised(self.headers.get("Authorization", ""))
                if status == 201 and self.path.startswith("/v2/notifications/"):
                    status = standin._decide(body)
                elif status == 201:
                    status = 404
                notification_id = str(uuid.uuid4())
                with standin.lock:
                    standin.requests.append(
                        {"kind": kind, "body": body, "status": status, "id": notification_id}
                    )
                if status == 201:
                    self._reply(
                        201,
                        {
                            "id": notification_id,
                            "reference": body.get("reference"),
                            "content": {"body": body.get("personalisation", {}).get("body")},
                            "template": {"id": body.get("template_id"), "version": 1},
                            "uri": f"{standin.url}/v2/notifications/{notification_id}",
                        },
                    )
                else:
                    error, message = ERRORS.get(status, ("Error", "Not found"))
                    self._reply(
                        status,
                        {"status_code": status, "errors": [{"error": error, "message": message}]},
                    )

        return Handler

    def _authorised(self, header: str) -> int:
        token = header.removeprefix("Bearer ")
        try:
            claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_iat": True})
        except jwt.PyJWTError:
            return 403
        return 201 if claims.get("iss") == SERVICE_ID else 403
