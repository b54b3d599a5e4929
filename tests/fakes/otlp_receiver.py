"""A recording stand-in for Langfuse's OTLP ingestion: point `LANGFUSE_BASE_URL` at it.

Langfuse's SDK exports spans with the OpenTelemetry OTLP/HTTP exporter: `POST
/api/public/otel/v1/traces`, a protobuf `ExportTraceServiceRequest`, gzip-compressed by default,
with HTTP Basic auth of the public and secret key. Every request is recorded (path, headers, the
decompressed body) and its spans decoded; anything else gets an empty JSON answer.

    with OtlpReceiver() as langfuse:
        env["LANGFUSE_BASE_URL"] = langfuse.url
        ...
        langfuse.spans()   # [Span(trace_id, span_id, parent_id, name, scope, attributes), ...]
"""

from __future__ import annotations

import gzip
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

TRACES_PATH = "/api/public/otel/v1/traces"


@dataclass(frozen=True)
class Span:
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    scope: str
    attributes: dict[str, Any]


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    """Decompressed."""


class OtlpReceiver:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[Received] = []
        handler = type("Handler", (_Handler,), {"receiver": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> OtlpReceiver:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def record(self, received: Received) -> None:
        with self._lock:
            self._received.append(received)

    def spans(self) -> list[Span]:
        spans = []
        for received in self.received():
            if received.path != TRACES_PATH:
                continue
            request = ExportTraceServiceRequest.FromString(received.body)
            for resource_spans in request.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        spans.append(
                            Span(
                                trace_id=span.trace_id.hex(),
                                span_id=span.span_id.hex(),
                                parent_id=span.parent_span_id.hex(),
                                name=span.name,
                                scope=scope_spans.scope.name,
                                attributes={a.key: _value(a.value) for a in span.attributes},
                            )
                        )
        return spans


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind) if kind else None


class _Handler(BaseHTTPRequestHandler):
    receiver: OtlpReceiver

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        self.receiver.record(Received(self.path, dict(self.headers.items()), body))
        if self.path == TRACES_PATH:
            self._send(200, b"", "application/x-protobuf")
        else:
            self._send(200, b"{}", "application/json")

    def do_GET(self) -> None:
        self.receiver.record(Received(self.path, dict(self.headers.items()), b""))
        self._send(200, json.dumps({}).encode(), "application/json")

    def _send(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
