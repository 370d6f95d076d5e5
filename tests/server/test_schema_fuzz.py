"""Schema fuzzing of the live server's whole OpenAPI spec with schemathesis, without and with
``--api-key``: no 5xx, responses match it, and with a key every protected operation refuses a
request without it.

Bounded: 25 examples per operation and mode, about 15 s per run on a 2-core VM. The chat route
has no upstream and overrides are off, so fuzzing never leaves loopback.
"""

from __future__ import annotations

import httpx
import pytest  # noqa: F401
import schemathesis
from livesrv import wait_for
from hypothesis import HealthCheck, settings
from hypothesis.errors import Unsatisfiable
from livesrv import LiveServer
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from auralis_core.server import ServerConfig, create_app

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection]


KEY = "fuzz-key"


@pytest.fixture(scope="module", params=[None, KEY], ids=["open", "api-key"])
def fuzz_server(request):
    config = ServerConfig(engine="espeak", max_input_chars=300, max_queue=64,
                          api_key=request.param)
    with LiveServer(create_app(config)) as server:
        assert wait_for(lambda: httpx.get(server.url + "/health/ready").status_code == 200, 60)
        yield server, request.param


def test_api_conforms_to_its_schema(fuzz_server):
    """Every operation, ~25 generated cases each (positive and negative), against the live server.

    (Driven through hypothesis directly: schemathesis' pytest plugin does not load under pytest 9.)
    """
    from hypothesis import given

    server, key = fuzz_server
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    checks = CHECKS + ([ignored_auth] if key else [])
    api = schemathesis.openapi.from_url(server.url + "/openapi.json", headers=headers)
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 9
    tested = []
    modes = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
    for operation, mode in ((op, mode) for op in operations for mode in modes):
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)
        def run(case) -> None:
            case.call_and_validate(headers=headers, checks=checks, timeout=20)

        try:
            run()
        except Unsatisfiable:  # nothing to make invalid (e.g. GET /health has no parameters)
            assert mode == schemathesis.GenerationMode.NEGATIVE
            continue
        tested.append(f"{operation.method.upper()} {operation.path}")
    print(f"fuzzed {len(tested)} operation/mode pairs")
    assert "POST /v1/audio/speech" in tested and "GET /metrics" in tested
    schema = api.raw_schema
    sse = schema["paths"]["/v1/audio/speech"]["post"]["responses"]["200"]["content"]["text/event-stream"]
    assert {ref["$ref"].rsplit("/", 1)[1] for ref in sse["x-event-schema"]["oneOf"]} == {
        "SpeechAudioDelta", "SpeechAudioDone", "StreamError"}
    assert "StreamError" in schema["components"]["schemas"]
