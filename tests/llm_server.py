"""A scripted OpenAI-compatible chat server on 127.0.0.1, standing in for a paid model API.

POST /v1/chat/completions answers from a script: a function of the request's messages that
returns the reply text. With "stream": true the reply goes out as server-sent events, a few
words per chunk, as the real API does. Requests are recorded (body and headers).
"""
from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Callable

from servers import LoopbackServer


class ChatServer(LoopbackServer):
    def __init__(self, script: Callable[[list[dict]], str]):
        self.script = script
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (the stdlib's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "body": body,
                                        "headers": dict(self.headers)})
                if not self.path.endswith("/chat/completions"):
                    return self._json(404, {"error": {"message": "not here"}})
                reply = server.script(body["messages"])
                if body.get("stream"):
                    return self._stream(body["model"], reply)
                self._json(200, {
                    "id": "chatcmpl-1", "object": "chat.completion", "created": 0,
                    "model": body["model"],
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": reply}}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

            def _stream(self, model: str, reply: str):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                words = reply.split(" ")
                pieces = [" ".join(words[i:i + 3]) + (" " if i + 3 < len(words) else "")
                          for i in range(0, len(words), 3)]
                for piece in pieces + [None]:
                    delta = {"content": piece} if piece is not None else {}
                    chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0,
                             "model": model, "choices": [{"index": 0, "delta": delta,
                                                          "finish_reason": None if piece
                                                          is not None else "stop"}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")

            def _json(self, code: int, payload: dict):
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        super().__init__(Handler, path="/v1")
