"""Property-based API test: every operation of the OpenAPI spec at /api/v1/_openapi, with
generated valid and invalid input, as admin, in-process (WSGI). No answer may be a 5xx.

The fixture add-on fx_base is installed and enabled for Jilin (220000); the other fixture
APIs are in the spec too but not installed (they answer 404). Bounded and repeatable:
15 examples per operation and generation mode (positive, negative), derandomized, no
example database, no shrinking.

Driven through ``APIOperation.as_strategy`` and Hypothesis rather than schemathesis'
pytest plugin: ``schemathesis.pytest.from_fixture`` (4.32) fails on pytest 9
(``'Function' object has no attribute '_nodeid'``).
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")

import os  # noqa: E402

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.core.result import Ok  # noqa: E402

from tests.conftest import cli, installer, query  # noqa: E402
from tests.core.test_web import jwt  # noqa: E402

#: ERP_SCHEMATHESIS_EXAMPLES=200 for the longer run (docs/operations.md section 11)
MAX_EXAMPLES = int(os.environ.get("ERP_SCHEMATHESIS_EXAMPLES", "15"))
SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
CONFIG = {"generation": {"max-examples": MAX_EXAMPLES, "deterministic": True,
                         "database": "none"}}


def test_no_operation_answers_5xx(app) -> None:
    installer(app).install(["fx_base"])
    res = cli(app, "tenant", "enable", "220000", "fx_base")
    assert res.exit_code == 0, res.output
    headers = jwt(app.test_client())
    schema = schemathesis.openapi.from_wsgi(
        "/api/v1/_openapi", app, config=schemathesis.Config.from_dict(CONFIG), headers=headers
    )
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"invalid operation in the spec: {result.err()}"
        operations.append(result.ok())
    labels = {op.label for op in operations}
    assert {"POST /api/v1/fx_item/", "PUT /api/v1/fx_item/{pk}",
            "POST /api/v1/security/login"} <= labels, sorted(labels)

    # generated ids rarely exist: also run the item operations on a record that does
    existing = {"pk": query(app, "SELECT MIN(id) FROM fx_item")[0][0]}
    runs = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            runs.append((operation, mode, None))
            if "{pk}" in operation.path and "/fx_item/" in operation.path:
                runs.append((operation, mode, existing))

    runs.sort(key=lambda run: run[0].method.upper() == "DELETE")  # the record goes last

    failures: list[str] = []
    unsatisfiable: list[str] = []
    for operation, mode, path_parameters in runs:

        @SETTINGS
        @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
        def run(case) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        try:
            run()
        except Unsatisfiable:
            # an operation whose every input accepts anything (public search with free-text
            # filters, no body) has no invalid input to generate: nothing to prove there
            if mode is not GenerationMode.NEGATIVE:
                raise
            unsatisfiable.append(operation.label)
        except (Exception, BaseExceptionGroup) as exc:  # collect, report every operation at once
            where = f" pk={path_parameters['pk']}" if path_parameters else ""
            failures.append(f"{operation.label}{where} [{mode.value}]: {exc}")
    assert not failures, "\n\n".join(failures)
    # most operations do have invalid inputs: the skip above must stay the exception
    assert len(unsatisfiable) < len(operations) // 4, unsatisfiable


def test_inputs_that_once_caused_500s_on_every_operation(app) -> None:
    """Issue 12 finding 5, on every operation of the spec: ``?q=`` that is not an object,
    a 2 KB body nested 1,000 levels, lone surrogates. 400/401/403/404/405/413/422, never 5xx."""
    installer(app).install(["fx_base"])
    assert cli(app, "tenant", "enable", "220000", "fx_base").exit_code == 0
    client = app.test_client()
    headers = jwt(client)
    res = client.get("/api/v1/_openapi", headers=headers)
    assert res.status_code == 200, res.get_data(as_text=True)[:300]
    spec = res.json
    deep = "[" * 1000 + "]" * 1000
    surrogate = '{"username": "\\ud800", "password": "\\udfff", "provider": "db", "name": "\\ud800"}'
    failures = []
    for path, item in spec["paths"].items():
        url = path.replace("{pk}", "1").replace("{id}", "1")
        url = __import__("re").sub(r"\{[^}]+\}", "1", url)
        for method in item:
            if method not in ("get", "post", "put", "delete", "patch"):
                continue
            cases = [("q", dict(query_string="q=1e%2B5"))]
            if method in ("post", "put", "patch"):
                cases += [("deep", dict(data=deep, content_type="application/json")),
                          ("surrogate", dict(data=surrogate, content_type="application/json"))]
            for name, kw in cases:
                for h in (headers, {}):
                    res = client.open(url, method=method.upper(), headers=h, **kw)
                    if res.status_code >= 500:
                        failures.append(f"{method.upper()} {url} [{name}]: {res.status_code}")
    assert not failures, "\n".join(failures)
