"""A service instrumented with the OpenTelemetry Python SDK: the second implementation in
traced's cross-implementation test (tests/python_peer.rs).

    python3 python_service.py <port> <otlp traces endpoint>

Listens on 127.0.0.1:<port>. For each `POST /hop` it continues the caller's trace from the
W3C `traceparent`/`tracestate`/`baggage` headers (the SDK's default propagators), in a
SERVER span `python /hop`; inside it, an INTERNAL span `python-work` and a CLIENT span
`python call` that POSTs to the URL the body names, with the context injected. Every span is
exported over OTLP/HTTP protobuf as it ends (SimpleSpanProcessor), before the response is
written. Prints `ready` once it listens.
"""

import json
import sys
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

from opentelemetry import baggage, propagate, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

port = int(sys.argv[1])
endpoint = sys.argv[2]

provider = TracerProvider(resource=Resource.create({"service.name": "python-peer"}))
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
trace.set_tracer_provider(provider)
tracer = trace.get_tracer("python-peer")


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        context = propagate.extract(dict(self.headers.items()))
        with tracer.start_as_current_span(
            "python /hop", context=context, kind=trace.SpanKind.SERVER
        ) as server:
            server.set_attribute(
                "peer.baggage.tenant", str(baggage.get_baggage("tenant", context))
            )
            with tracer.start_as_current_span("python-work"):
                pass
            callback = body.get("callback")
            if callback:
                with tracer.start_as_current_span(
                    "python call", kind=trace.SpanKind.CLIENT
                ):
                    headers = {"content-type": "application/json"}
                    propagate.inject(headers)
                    request = urllib.request.Request(
                        callback, data=b"{}", headers=headers, method="POST"
                    )
                    with urllib.request.urlopen(request, timeout=10) as answer:
                        answer.read()
        reply = json.dumps({"ok": True}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", port), Handler)
print("ready", flush=True)
server.serve_forever()
