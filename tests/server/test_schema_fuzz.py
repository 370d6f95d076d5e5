"""Schema fuzzing of the live server's OpenAPI spec with schemathesis: no 5xx, responses match it.

Bounded: a few dozen examples per operation, well under a minute on a 2-core VM. The chat route
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
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from auralis_core.server import ServerConfig, create_app

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection]


@pytest.fixture(scope="module")
def fuzz_server():
    config = ServerConfig(engine="espeak", max_input_chars=300, max_queue=64)
    with LiveServer(create_app(config)) as server:
        assert wait_for(lambda: httpx.get(server.url + "/health/ready").status_code == 200, 60)
        yield server


def test_api_conforms_to_its_schema(fuzz_server):
    """Every operation, ~25 generated cases each (positive and negative), against the live server.

    (Driven through hypothesis directly: schemathesis' pytest plugin does not load under pytest 9.)
    """
    from hypothesis import given

    api = schemathesis.openapi.from_url(fuzz_server.url + "/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 9
    tested = []
    modes = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
    for operation, mode in ((op, mode) for op in operations for mode in modes):
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)
        def run(case) -> None:
            case.call_and_validate(checks=CHECKS, timeout=20)

        try:
            run()
        except Unsatisfiable:  # nothing to make invalid (e.g. GET /health has no parameters)
            assert mode == schemathesis.GenerationMode.NEGATIVE
            continue
        tested.append(f"{operation.method.upper()} {operation.path}")
    print(f"fuzzed {len(tested)} operation/mode pairs")
    assert "POST /v1/audio/speech" in tested
