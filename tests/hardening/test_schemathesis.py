"""Schemathesis over the whole OpenAPI schema (drf-spectacular), once per kind of caller.

For each operation, generated requests (random ids and, as often, the world's real ids so the
views get past the lookup) go to a live server on 127.0.0.1 with the caller's token. Any 5xx,
and any response that does not match the schema's description of it, is a failure. The run is
bounded: EXAMPLES cases per operation and caller, no shrinking, derandomized so CI is stable.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest
import requests
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.hardening.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)

# Per operation and caller: 49 operations x 5 callers x 5, about 1,200 requests (~2 min on 2
# cores). RADLOOP_SCHEMATHESIS_EXAMPLES raises it for a deeper run before a release.
EXAMPLES = int(os.environ.get("RADLOOP_SCHEMATHESIS_EXAMPLES", "5"))
CALLERS = ("admin", "reviewer", "annotator", "other", "outsider")
CHECKS = [not_a_server_error, response_schema_conformance]

# Operations whose failures are fixed on another branch of issue 14 (helper h2): excluded here
# until that merges, then this set is emptied. Keys: (method, path template).
FIXED_ELSEWHERE: dict[tuple[str, str], str] = {}


def openapi_schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)  # type: ignore[no-any-return]


def strategy(operation: Any, real: dict[str, str]) -> Any:
    """Valid and invalid requests, with random ids and with the world's real ids (so the view
    gets past its lookup and the caller's role decides)."""
    names = [p.name for p in operation.path_parameters]
    fixed = {name: real[name] for name in names if name in real}
    options = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    if fixed:
        options += [
            operation.as_strategy(GenerationMode.POSITIVE, path_parameters=fixed),
            operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=fixed),
        ]
    return st.one_of(options)


def run_operation(
    operation: Any, base_url: str, session: requests.Session, real: dict[str, str]
) -> tuple[int, list[str]]:
    """Run EXAMPLES generated cases of one operation; (cases run, failure descriptions)."""
    ran = 0
    failures: list[str] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy(operation, real))
    def run(case: Any) -> None:
        nonlocal ran
        ran += 1
        response = case.call(base_url=base_url, session=session, timeout=30)
        try:
            case.validate_response(response, checks=CHECKS)
        except Exception as failure:  # collected, reported together below
            first_line = str(failure).strip().splitlines()[0] if str(failure).strip() else ""
            failures.append(
                f"{case.method} {case.formatted_path} -> {response.status_code}: "
                f"{type(failure).__name__} {first_line[:300]}"
            )

    run()
    return ran, failures


def test_no_server_error_and_every_response_matches_the_schema(live_server) -> None:  # type: ignore[no-untyped-def]
    world = build_world()
    schema = schemathesis.openapi.from_dict(openapi_schema())
    operations = [result.ok() for result in schema.get_all_operations()]
    cases: Counter[str] = Counter()
    failures: list[str] = []
    for caller in CALLERS:
        session = requests.Session()
        session.headers["Authorization"] = f"Token {world.tokens[caller]}"
        for operation in operations:
            if (operation.method.upper(), operation.path) in FIXED_ELSEWHERE:
                continue
            ran, found = run_operation(operation, live_server.url, session, world.url_values)
            cases[caller] += ran
            failures += [f"[{caller}] {failure}" for failure in found]
    print(f"schemathesis: operations={len(operations)} cases={sum(cases.values())} {dict(cases)}")
    print(f"schemathesis: failures={len(failures)}")
    assert sum(cases.values()) > 0
    assert not failures, "\n".join(sorted(set(failures)))
