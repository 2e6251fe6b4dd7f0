"""docs/ARCHITECTURE.md's worked example of adding a dialect is real: its code block, loaded as
webapp/dialects/cockroachdb.py and registered by one more module name, is a dialect of the
form, the API, OpenAPI and the paste box, and verifies against the throwaway PostgreSQL (no
CockroachDB server runs here; CockroachDB speaks the same wire protocol, which is the point of
the example). Its cluster error is a psycopg error built here, as CockroachDB Cloud sends it."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import psycopg
import pytest

from tests.integration.test_verify_postgres import failure, values
from webapp import dialects
from webapp import sources as uc
from webapp.dialects.base import Target
from webapp.dialects.urls import parse_connection_string
from webapp.openapi import build_document

DOC = Path(__file__).resolve().parents[2] / "docs" / "ARCHITECTURE.md"


def example_source() -> str:
    """The first python block after the "Adding a dialect" heading."""
    section = DOC.read_text().split("## Adding a dialect", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


@pytest.fixture
def cockroach(monkeypatch, tmp_path):
    """The example saved as webapp/dialects/cockroachdb.py and its name added to MODULES."""
    path = tmp_path / "cockroachdb.py"
    path.write_text(example_source())
    spec = importlib.util.spec_from_file_location("webapp.dialects.cockroachdb", path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "webapp.dialects.cockroachdb", module)
    spec.loader.exec_module(module)
    registry = dialects.load((*dialects.MODULES, "cockroachdb"))
    assert list(registry)[:-1] == list(dialects.DIALECTS)  # nothing else moved
    monkeypatch.setattr(dialects, "MODULES", (*dialects.MODULES, "cockroachdb"))
    # The registry dict is shared by every face that imported it: add to it in place.
    monkeypatch.setitem(dialects.DIALECTS, "COCKROACHDB", registry["COCKROACHDB"])
    return registry["COCKROACHDB"]


def test_the_example_verifies_and_maps_a_wrong_password(app, pg, cockroach):
    raw = values(pg, dialect="COCKROACHDB")
    with app.app_context():
        assert uc.verify_input(raw).server_version.startswith("PostgreSQL")
    error = failure(app, values(pg, dialect="COCKROACHDB", password="wrong-password"))
    assert error.field_errors == {
        "username": "Incorrect username or password",
        "password": "Incorrect username or password",
    }


def test_its_own_error_rule_comes_first(cockroach):
    target = Target({"host": "x.cockroachlabs.cloud", "port": 26257}, "127.0.0.1", 2.0, 26257)
    cluster = psycopg.OperationalError("FATAL: codeParamsRoutingFailed: missing cluster identifier")
    assert cockroach.classify(cluster, target).field_errors == {
        "host": "No such CockroachDB Cloud cluster"
    }
    refused = psycopg.OperationalError("connection failed: Connection refused")
    assert cockroach.classify(refused, target).field_errors == {"port": "Incorrect port"}


def test_its_urls_and_its_cloud_hosts_are_claimed(cockroach):
    assert (
        parse_connection_string("cockroachdb://app:pw@db.internal:26257/bank")[0] == "COCKROACHDB"
    )
    key, found = parse_connection_string(
        "postgresql://app:pw@my-cluster-1234.abc.cockroachlabs.cloud:26257/defaultdb"
        "?sslmode=verify-full"
    )
    assert key == "COCKROACHDB"
    assert found == {
        "host": "my-cluster-1234.abc.cockroachlabs.cloud",
        "port": 26257,
        "username": "app",
        "password": "pw",
        "databaseName": "defaultdb",
        "sslEnabled": True,
        "sslMode": "verify-full",
    }
    assert parse_connection_string("postgresql://app@db.example.com/x")[0] == "POSTGRES"


def test_it_is_in_the_form_the_api_and_openapi(app, admin, cockroach):
    page = admin.get("/sources/new").get_data(as_text=True)
    assert 'value="COCKROACHDB"' in page
    fieldset = admin.get("/sources/fieldset?dialect=COCKROACHDB").get_data(as_text=True)
    assert "CockroachDB connection" in fieldset and 'value="26257"' in fieldset
    with app.app_context(), pytest.raises(uc.ValidationFailed) as caught:
        uc.clean_input({"displayName": "x", "dialect": "COCKROACHDB"})  # what the API runs
    assert "host" in caught.value.field_errors and "dialect" not in caught.value.field_errors
    with app.test_request_context():
        schemas = build_document()["components"]["schemas"]
    assert any("COCKROACHDB" in name.upper() for name in schemas)
