"""MongoDB's introspection: fields found by sampling, their BSON types and how often each occurs.

No MongoDB server can be installed here: the documents are real BSON, built from the driver's
own types, encoded by `bson.encode` and decoded by `bson.decode` (what pymongo hands a cursor's
reader). The server's answers to listCollections and $sample are a small stand-in below; the
driver against real sockets is in tests/integration/test_mongodb_failures.py.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.extras import needs_driver
from webapp.dialects import get_dialect
from webapp.dialects.base import SchemaFilter
from webapp.dialects.fields import FieldInvalid

pytestmark = needs_driver("MONGODB")


def roundtrip(documents: list[dict]) -> list[dict]:
    import bson

    return [bson.decode(bson.encode(d)) for d in documents]


def orders() -> list[dict]:
    from bson import Decimal128, Int64, ObjectId

    return roundtrip(
        [
            {
                "_id": ObjectId(),
                "total": Decimal128("9.99"),
                "placed": dt.datetime(2026, 1, 2),
                "customer": {"name": "Ada", "address": {"city": "Paris"}},
                "lines": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}],
                "views": Int64(5),
            },
            {
                "_id": ObjectId(),
                "total": Decimal128("5.00"),
                "placed": dt.datetime(2026, 1, 3),
                "customer": {"name": "Bob"},
                "lines": [],
                "views": 2**40,
                "note": None,
            },
            {
                "_id": ObjectId(),
                "total": 3.5,
                "placed": dt.datetime(2026, 1, 4),
                "customer": {"name": 7},
                "lines": [{"sku": "c", "qty": 3}],
                "views": 3,
            },
            {
                "_id": ObjectId(),
                "total": Decimal128("1.25"),
                "placed": dt.datetime(2026, 1, 5),
                "customer": {"name": "Cy"},
                "views": 4,
                "flag": True,
            },
        ]
    )


def by_name(columns: list[dict]) -> dict[str, dict]:
    return {c["name"]: c for c in columns}


def test_sampled_fields_have_bson_types_and_how_often_each_occurs():
    from webapp.dialects.mongodb import sample_columns

    columns = sample_columns(orders())
    found = by_name(columns)
    assert columns[0]["name"] == "_id" and columns[0]["primaryKey"]
    assert found["_id"]["type"] == "objectId" and not found["_id"]["nullable"]
    assert found["total"]["type"] == "decimal|double"
    assert found["total"]["bsonTypes"] == {"decimal": 3, "double": 1}
    assert found["placed"]["type"] == "date"
    # Nested documents are flattened with dotted names; arrays of documents too.
    assert found["customer.name"]["bsonTypes"] == {"string": 3, "int": 1}
    assert found["customer.address.city"]["occurrence"] == 0.25
    assert found["customer.address.city"]["nullable"]
    assert found["lines"]["type"] == "array" and found["lines"]["occurrence"] == 0.75
    assert found["lines.sku"]["type"] == "string" and found["lines.qty"]["type"] == "int"
    # 64-bit integers are longs whether the driver decoded them as Int64 or int.
    assert found["views"]["bsonTypes"] == {"int": 2, "long": 2}
    assert found["note"]["type"] == "null" and found["note"]["occurrence"] == 0.25
    assert found["flag"]["type"] == "bool"
    assert [c["ordinal"] for c in columns] == list(range(1, len(columns) + 1))


def test_every_bson_type_has_its_name():
    from bson import Binary, Code, Int64, MaxKey, MinKey, Regex, Timestamp

    from webapp.dialects.mongodb import bson_type

    document = roundtrip(
        [
            {
                "b": Binary(b"x", 0),
                "c": Code("f()"),
                "l": Int64(1),
                "mx": MaxKey(),
                "mn": MinKey(),
                "r": Regex("^a"),
                "t": Timestamp(1, 1),
                "d": 1.0,
                "s": "x",
                "o": {},
                "a": [],
            }
        ]
    )[0]
    assert {k: bson_type(v) for k, v in document.items()} == {
        "b": "binData",
        "c": "javascript",
        "l": "long",
        "mx": "maxKey",
        "mn": "minKey",
        "r": "regex",
        "t": "timestamp",
        "d": "double",
        "s": "string",
        "o": "object",
        "a": "array",
    }


def test_a_sample_with_too_many_paths_is_cut():
    from webapp.dialects import mongodb

    wide = roundtrip([{f"f{i}": i for i in range(mongodb.MAX_COLUMNS + 50)}])
    assert len(mongodb.sample_columns(wide)) == mongodb.MAX_COLUMNS
    assert mongodb.sample_columns([]) == []


class StandinDatabase:
    """listCollections and $sample as the server answers them (stand-in: no server here)."""

    def __init__(self, collections: dict[str, list[dict]], views: tuple[str, ...] = ()):
        self.collections, self.views, self.sampled = collections, views, []

    def command(self, name, **options):
        assert name == "listCollections"
        batch = [
            {"name": n, "type": "view" if n in self.views else "collection"}
            for n in self.collections
        ]
        return {"cursor": {"firstBatch": batch}}

    def __getitem__(self, name):
        database = self

        class Collection:
            def aggregate(self, pipeline):
                from pymongo import _csot  # the deadline pymongo would apply to the call

                database.sampled.append((name, pipeline[0]["$sample"]["size"], _csot.get_timeout()))
                return iter(database.collections[name])

        return Collection()


def test_introspect_lists_collections_once_and_samples_each(monkeypatch):
    from webapp.dialects.mongodb import MongoConnection

    database = StandinDatabase(
        {"orders": orders(), "system.views": [], "recent": orders()[:1]}, views=("recent",)
    )
    connection = MongoConnection({"app": database}, "app", sample_size=25)
    tables = list(get_dialect("MONGODB").introspect(connection))
    assert [(t.schema, t.name, t.kind) for t in tables] == [
        ("app", "orders", "table"),
        ("app", "recent", "view"),
    ]
    # Each sample under the sync's deadline (pymongo.timeout), not the connect one.
    assert database.sampled == [("orders", 25, 300.0), ("recent", 25, 300.0)]
    assert list(get_dialect("MONGODB").introspect(connection, SchemaFilter(("other",)))) == []


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "mongodb://app:s%40cret@db.example.com:27018/shop?authSource=admin&tls=true",
            {
                "host": "db.example.com",
                "port": 27018,
                "username": "app",
                "password": "s@cret",
                "databaseName": "shop",
                "authDatabase": "admin",
                "sslEnabled": True,
            },
        ),
        (
            "mongodb://db.example.com/shop?tlsAllowInvalidHostnames=true&tls=true",
            {
                "host": "db.example.com",
                "databaseName": "shop",
                "sslEnabled": True,
                "sslMode": "verify-ca",
            },
        ),
        (
            "mongodb://u:p@db.example.com/shop",
            {
                "host": "db.example.com",
                "username": "u",
                "password": "p",
                "databaseName": "shop",
                "authDatabase": "shop",
            },
        ),
    ],
)
def test_connection_strings(text, expected):
    assert get_dialect("MONGODB").read_url(text) == expected


@pytest.mark.parametrize(
    "text, words",
    [
        ("mongodb+srv://u:p@cluster0.abcde.mongodb.net/app", r"mongodb\+srv"),
        ("mongodb://a.example.com:27017,b.example.com:27017/app?replicaSet=rs0", "one host"),
    ],
)
def test_strings_datadock_cannot_pin_are_refused(text, words):
    with pytest.raises(FieldInvalid, match=words):
        get_dialect("MONGODB").read_url(text)


def test_local_checks():
    dialect = get_dialect("MONGODB")
    assert dialect.check_local({"databaseName": "a.b", "password": "x"}) == {
        "databaseName": 'MongoDB database names have no / \\ . space " or $',
        "username": "Enter the username this password belongs to",
    }
    assert dialect.field("sampleSize").default == 100
    assert dialect.secret_names == (
        "password",
        "sshPassword",
        "sshPrivateKey",
        "sshPrivateKeyPassphrase",
    )


def test_server_errors_land_on_their_fields():
    """pymongo's own OperationFailure, with the codes a MongoDB server sends."""
    from pymongo.errors import OperationFailure

    from webapp.dialects.base import Target

    dialect = get_dialect("MONGODB")
    target = Target(
        {"host": "db.example.com", "port": 27017, "databaseName": "app", "authDatabase": "admin"},
        None,
        2.0,
    )
    bad = OperationFailure(
        "Authentication failed.",
        code=18,
        details={"ok": 0, "errmsg": "Authentication failed.", "code": 18},
    )
    assert dialect.classify(bad, target).field_errors == {
        "username": "Incorrect username or password",
        "password": "Incorrect username or password",
    }
    denied = OperationFailure("not authorized on app to execute command", code=13)
    assert dialect.classify(denied, target).field_errors == {
        "username": "No access to this database"
    }


def test_server_selection_giving_up_before_the_monitor_is_a_silent_host():
    """On a busy machine server selection can end before the monitor's connect attempt timed
    out: pymongo then names no socket error, only "No servers found yet"."""
    from pymongo.errors import ServerSelectionTimeoutError

    from webapp.dialects.base import Target

    dialect = get_dialect("MONGODB")
    target = Target({"host": "127.0.0.1", "port": 27017, "databaseName": "app"}, None, 2.0)
    early = ServerSelectionTimeoutError(
        "No servers found yet, Timeout: 1.999s, Topology Description: <TopologyDescription "
        "id: 6b0f, topology_type: Single, servers: [<ServerDescription ('127.0.0.1', 27017) "
        "server_type: Unknown, rtt: None>]>"
    )
    failure = dialect.classify(early, target)
    assert list(failure.field_errors) == ["host"]
    assert "did not answer" in failure.field_errors["host"]
