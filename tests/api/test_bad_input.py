"""Input that once gave a 500, and names that only looked different: through the API (create,
verify, PATCH), the pages (form posts with CSRF) and the provisioning file.

Successful creates use the SQLITE dialect on a real file in the app's data folder; every other
request is refused before anything connects (verify goes to a .invalid host at most).
"""

from __future__ import annotations

import sqlite3
import unicodedata
from pathlib import Path

import pytest

from tests.api.conftest import STORED_SECRET, Api, add_source
from tests.fixtures_app import csrf_token
from webapp.extensions import db
from webapp.models import Source
from webapp.safe_parse import MAX_DEPTH

NFC = unicodedata.normalize("NFC", "Café")
NFD = unicodedata.normalize("NFD", "Café")
NOT_TEXT = "Contains characters that are not valid text"
# A body as raw JSON text: `\udc00` stays a JSON escape (json= would refuse to encode it).
BODY = (
    '{"type": "direct", "dialect": "POSTGRES", "displayName": %s, "description": %s, '
    '"host": %s, "port": 5432, "databaseName": "app", "username": %s, "password": %s}'
)


def body(
    display='"Warehouse"',
    description='"ok"',
    host='"db.invalid"',
    username='"reader"',
    password='"hunter2"',  # noqa: S107 - a test body's password
) -> str:
    return BODY % (display, description, host, username, password)


def send(api: Api, method: str, path: str, text: str | bytes):
    return api.call(method, path, data=text, content_type="application/json")


def error_of(response) -> dict:
    assert response.status_code == 400, (response.status_code, response.get_data(as_text=True))
    return response.get_json()["error"]


@pytest.fixture
def stored(app, api: Api) -> int:
    return add_source(app, api.org_id, "Stored")


@pytest.fixture
def operations(stored: int) -> list[tuple[str, str]]:
    return [("POST", ""), ("POST", "/verify"), ("PATCH", f"/{stored}")]


def sqlite_source(app, api: Api, name: str, file: str = "shop.db"):
    """Create a source through the API on a real SQLite file in the data folder."""
    path = Path(app.config["DATA_DIR"]) / file
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY)")
    return api.post(
        json={"type": "direct", "dialect": "SQLITE", "displayName": name, "databaseName": file}
    )


# -- deep JSON


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1_000, 100_000])
def test_deeply_nested_json_is_invalid_json_on_every_operation(api, operations, depth):
    nested = "[" * depth + "]" * depth
    for method, path in operations:
        for text in (nested, body(description=nested), '{"a": {"b": ' + nested + "}}"):
            error = error_of(send(api, method, path, text))
            assert error["title"] == "InvalidJson", (method, path)
            assert "nesting is too deep" in error["detail"]


def test_nesting_within_the_limit_is_an_ordinary_field_error(api, operations):
    nested = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    for method, path in operations:
        error = error_of(send(api, method, path, body(description=nested)))
        assert error["title"] == "ValidationError"
        assert error["fieldErrors"]["description"]


# -- text that is not text: lone surrogates


@pytest.mark.parametrize("field", ["display", "description", "host", "username", "password"])
def test_a_lone_surrogate_in_any_string_field_is_a_field_error(api, operations, field):
    names = {"display": "displayName"}
    for method, path in operations:
        response = send(api, method, path, body(**{field: '"hunter2\\udc00x"'}))
        error = error_of(response)
        assert error["title"] == "ValidationError"
        assert error["fieldErrors"] == {names.get(field, field): NOT_TEXT}
        assert "hunter2" not in response.get_data(as_text=True)  # no value is echoed


def test_surrogates_as_raw_bytes_and_in_nested_values_and_keys(api, operations):
    for method, path in operations:
        raw = body(display='"Ware\xed\xb3\x80house"').encode("latin-1")  # UTF-8 of U+DC00
        assert error_of(send(api, method, path, raw))["fieldErrors"] == {"displayName": NOT_TEXT}
        nested = body(description='["ok", {"x": "\\ud800"}]')
        assert error_of(send(api, method, path, nested))["fieldErrors"] == {"description": NOT_TEXT}
        key = error_of(send(api, method, path, '{"\\udc00": 1}'))
        assert key["title"] == "InvalidJson" and "not valid text" in key["detail"]
        bad_utf8 = error_of(send(api, method, path, b'{"displayName": "\xff"}'))
        assert bad_utf8["title"] == "InvalidJson"


def test_invalid_utf8_in_query_strings_is_never_a_server_error(app, api: Api, stored: int):
    for query in ("search=%ED%B3%80", "search=%FF%FE", "search=%C3"):
        response = api.get(f"/{stored}/schema?{query}")
        assert response.status_code == 200, query
    for query in ("limit=%ED%B3%80", "cursor=%FF", "since=%ED%A0%80"):
        assert error_of(
            api.get(f"?{query}" if "since" not in query else f"/{stored}/health?{query}")
        )["fieldErrors"]


# -- names compared by key


@pytest.mark.parametrize(
    ("stored_name", "new_name"),
    [(NFC, NFD), ("Dup", "Ｄup"), ("Dup", "ｄＵＰ"), ("Straße", "STRASSE")],
)
def test_look_alike_names_are_duplicates_on_create_and_patch(app, api, stored_name, new_name):
    add_source(app, api.org_id, stored_name)
    other = add_source(app, api.org_id, "Other")
    created = error_of(send(api, "POST", "", body(display=f'"{new_name}"')))
    assert created["title"] == "DuplicateName"
    assert created["fieldErrors"] == {"displayName": "This name is already used"}
    assert repr(stored_name) in created["detail"] or stored_name == new_name
    patched = error_of(api.patch(f"/{other}", json={"displayName": new_name}))
    assert patched["title"] == "DuplicateName"
    assert patched["fieldErrors"] == {"displayName": "This name is already used"}


def test_invisible_characters_in_names_are_refused(api, operations):
    for method, path in operations:
        for name, shown in (
            ("Du\\u200bp", "U+200B"),
            ("Dup\\u202e", "U+202E"),
            ("Du\\u0085p", "U+0085"),
            ("\\ufeffDup", "U+FEFF"),
        ):
            error = error_of(send(api, method, path, body(display=f'"{name}"')))
            assert error["title"] == "ValidationError", name
            assert shown in error["fieldErrors"]["displayName"]
            assert "invisible" in error["fieldErrors"]["displayName"]


def test_a_created_source_keeps_its_name_as_typed_and_blocks_its_look_alikes(app, api):
    created = sqlite_source(app, api, f"  {NFD} ")
    assert created.status_code == 201, created.get_json()
    data = created.get_json()["data"]
    assert data["displayName"] == NFD  # stored as typed (stripped), not normalised
    with app.app_context():
        assert db.session.get(Source, int(data["id"])).name_key == "café"
    again = sqlite_source(app, api, "CAFÉ", file="other.db")
    assert error_of(again)["title"] == "DuplicateName"
    renamed = api.patch(f"/{data['id']}", json={"displayName": "Ｃafé (shop)"})
    assert renamed.status_code == 200, renamed.get_json()
    assert renamed.get_json()["data"]["displayName"] == "Ｃafé (shop)"
    assert sqlite_source(app, api, NFC, file="other.db").status_code == 201


def test_the_store_refuses_two_names_with_one_key(app, api):
    """The unique index decides even when the use-case's check is bypassed."""
    from sqlalchemy.exc import IntegrityError

    add_source(app, api.org_id, NFC)
    with app.app_context(), pytest.raises(IntegrityError):
        add_source(app, api.org_id, NFD)
    with app.app_context():  # a Core insert (no ORM object) gets its key from the default
        db.session.execute(
            Source.__table__.insert(),
            [
                {
                    "organization_id": api.org_id,
                    "display_name": f"Ｂulk {n}",
                    "dialect": "POSTGRES",
                    "settings": {},
                }
                for n in range(3)
            ],
        )
        keys = db.session.scalars(
            db.select(Source.name_key).where(Source.display_name.like("%ulk%")).order_by(Source.id)
        ).all()
        assert keys == ["bulk 0", "bulk 1", "bulk 2"]


def test_sources_are_listed_by_name_key(app, api):
    from webapp import sources as uc
    from webapp.models import Organization

    for name in ("banana", "Ｃherry", "Apple", "apple pie"):
        add_source(app, api.org_id, name)
    with app.app_context():
        org = db.session.get(Organization, api.org_id)
        assert [s.display_name for s in uc.list_sources(org)] == [
            "Apple",
            "apple pie",
            "banana",
            "Ｃherry",
        ]
        assert uc.get_source_by_name(org, " ＡＰＰＬＥ ").display_name == "Apple"
        assert uc.get_source_by_name(org, "Ap\u200bple").display_name == "Apple"


# -- the pages: form posts carry CSRF


def form_data(client, url: str, **fields: str) -> dict[str, str]:
    return {
        "csrf_token": csrf_token(client, url),
        "dialect": "POSTGRES",
        "displayName": "Warehouse",
        "host": "db.invalid",
        "port": "5432",
        "databaseName": "app",
        "username": "reader",
        "password": STORED_SECRET,
        "sslMode": "require",
        **fields,
    }


def test_form_refuses_look_alike_and_invisible_names_next_to_the_field(app, admin):
    from webapp.models import Organization

    with app.app_context():
        org_id = db.session.scalar(db.select(Organization.id))
    add_source(app, org_id, NFC)
    other = add_source(app, org_id, "Other")
    cases = [
        (NFD, "This name is already used", ("/sources/new", f"/sources/{other}/edit")),
        ("Ｃafé", "This name is already used", ("/sources/new", f"/sources/{other}/edit")),
        (
            "Ware\u200bhouse",
            "Display name must not contain control or invisible characters (found U+200B)",
            ("/sources/new", "/sources/verify", f"/sources/{other}/edit"),
        ),
    ]
    for name, message, urls in cases:
        for url in urls:
            response = admin.post(url, data=form_data(admin, "/sources/new", displayName=name))
            html = response.get_data(as_text=True)
            assert response.status_code == 422, (url, name)
            assert f'id="displayName-error">{message}' in html.replace("&#39;", "'"), (url, name)
    with app.app_context():
        assert db.session.get(Source, other).display_name == "Other"


def test_form_posts_with_bytes_that_are_not_utf8_never_fail(app, admin):
    """Werkzeug keeps percent-escapes that are not UTF-8 as their literal text and decodes
    raw multipart bytes with U+FFFD: no surrogate reaches the app from a form. U+FFFD in a
    name is refused as not valid text; literal escapes are ordinary text."""
    token = csrf_token(admin, "/sources/new")
    parts = [
        ("csrf_token", token.encode()),
        ("dialect", b"POSTGRES"),
        ("displayName", b"Ware\xed\xb3\x80house\xff"),
        ("host", b"db.invalid"),
        ("port", b"5432"),
        ("databaseName", b"app"),
        ("username", b"reader\xff"),
        ("password", b"pw\xed\xa0\x80"),
        ("sslMode", b"require"),
    ]
    boundary = "datadock-test-boundary"
    raw = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value
        + b"\r\n"
        for name, value in parts
    )
    raw += f"--{boundary}--\r\n".encode()
    response = admin.post(
        "/sources/verify", data=raw, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert response.status_code == 422
    assert "Display name contains characters that are not valid text" in response.get_data(
        as_text=True
    )
    encoded = (
        f"csrf_token={token}&dialect=POSTGRES&displayName=Ware%ED%B3%80house"
        "&host=db.invalid&port=5432&databaseName=app&username=r%ED%A0%80"
        "&password=pw%ED%B3%80&sslMode=require"
    )
    response = admin.post(
        "/sources/verify", data=encoded, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 422  # reached verify: Host not found
    assert "Host not found" in response.get_data(as_text=True)
    assert "pw%ED%B3%80" not in response.get_data(as_text=True)


def test_search_boxes_take_bytes_that_are_not_utf8(app, admin):
    from webapp.models import Organization

    with app.app_context():
        org_id = db.session.scalar(db.select(Organization.id))
    source_id = add_source(app, org_id, "Stored")
    for query in ("q=%ED%B3%80", "q=%FF", "page=%ED%B3%80", "history=%FF", "window=%C3"):
        assert admin.get(f"/sources/{source_id}?{query}").status_code == 200, query
    assert admin.get("/sources/fieldset?dialect=POSTGRES&host=%ED%B3%80").status_code == 200
    assert admin.get("/audit?page=%ED%B3%80").status_code == 200


# -- provisioning files


def provision(app, path):
    return app.test_cli_runner().invoke(args=["datadock", "provision", str(path)])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"sources:\n  - displayName: " + b"[" * 5_000 + b"]" * 5_000, "nesting is too deep"),
        (b"sources:\n  - displayName: A\n    description: \xff\xfe\n", "not UTF-8 text (line 4"),
        (
            b'sources:\n  - displayName: "A\\udc00"\n',
            "sources[0].displayName contains characters that are not valid text",
        ),
        (b"sources:\n  - &a {displayName: A, x: [*a]}\n", "loop"),
        (b"sources:\n  - displayName: A\x07\n", "#x0007 is not allowed"),
        (
            b"sources:\n  - displayName: Dup\n  - displayName: \xef\xbc\xa4up\n",
            "displayName used twice: Dup, \uff24up",
        ),
    ],
)
def test_provisioning_files_that_cannot_be_read_say_why(app, api, tmp_path, content, message):
    path = tmp_path / "sources.yml"
    path.write_bytes(b"organization: Acme\n" + content)
    result = provision(app, path)
    assert result.exit_code != 0 and message in result.output, result.output
    assert "Traceback" not in result.output
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Source)) == 0


def test_provisioning_matches_existing_sources_by_name_key(app, api, tmp_path):
    path = Path(app.config["DATA_DIR"]) / "shop.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    sqlite3.connect(path).close()
    assert sqlite_source(app, api, "Warehouse").status_code == 201
    file = tmp_path / "sources.yml"
    file.write_text(
        "organization: Acme\nsources:\n  - displayName: ＷＡＲＥＨＯＵＳＥ\n"
        "    dialect: SQLITE\n    databaseName: shop.db\n    description: Shop\n",
        encoding="utf-8",
    )
    result = provision(app, file)
    assert result.exit_code == 0, result.output
    assert result.output.split()[0] == "updated"
    with app.app_context():
        assert [s.display_name for s in db.session.scalars(db.select(Source))] == [
            "ＷＡＲＥＨＯＵＳＥ"
        ]


# -- JSON inside a field, and JSON a vendor's server answers


def test_a_deeply_nested_service_account_key_is_a_field_error(api):
    for method, path in (("POST", "/verify"), ("POST", "")):
        error = error_of(
            api.call(
                method,
                path,
                json={
                    "type": "direct",
                    "dialect": "BIGQUERY",
                    "displayName": "BQ",
                    "bigQueryJsonKey": "[" * 5_000 + "]" * 5_000,
                },
            )
        )
        assert error["fieldErrors"] == {
            "bigQueryJsonKey": "This is not a service account key file (nested too deeply)"
        }


def test_a_deeply_nested_answer_from_a_posthog_stand_in_is_a_connection_failure(api):
    """PostHog cannot run here: a loopback stand-in answers its project endpoint."""
    from tests.standins import http_standin

    def answer(method, path, body):
        return 200, {"Content-Type": "application/json"}, b"[" * 50_000 + b"]" * 50_000

    with http_standin(answer) as standin:
        response = api.post(
            "/verify",
            json={
                "type": "direct",
                "dialect": "POSTHOG",
                "displayName": "PH",
                "host": "127.0.0.1",
                "port": standin.port,
                "posthogProjectId": "12345",
                "password": "phx_abc",
                "sslEnabled": False,
            },
        )
    error = error_of(response)
    assert error["title"] == "ConnectionFailed" and "phx_abc" not in str(error)
    assert error["fieldErrors"] == {"host": "Not a PostHog API"}
