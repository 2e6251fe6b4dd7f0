"""A real S3-compatible server on loopback: moto's server (`python -m moto.server`) as a
subprocess, with an IAM user whose key is the only one accepted once authentication is on."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.polling import wait_until
from tests.servers import free_port

BUCKET = "datadock-files"
# A UTF-8 CSV DuckDB cannot read: the second line is not UTF-8.
UNREADABLE_CSV = b"a,b\n1,\xff\xfe\n3,4\n"


@dataclass(frozen=True)
class S3Server:
    """A running moto server: its endpoint and the one accepted access key."""

    host: str
    port: int
    key_id: str
    secret: str
    region: str = "us-east-1"

    @property
    def endpoint(self) -> str:
        """The endpoint as the S3 dialect's field takes it."""
        return f"http://{self.host}:{self.port}"

    def client(self):
        """A boto3 S3 client with the accepted key."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.key_id,
            aws_secret_access_key=self.secret,
            region_name=self.region,
        )


def _post(url: str, body: bytes) -> None:
    request = urllib.request.Request(  # noqa: S310 - the test's own loopback S3 server
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback http
        answer.read()


def _answers(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - loopback http
        return answer.status == 200


def _fill(server: S3Server, log_folder: Path) -> None:
    """The bucket's files: CSVs at two levels, Parquet, JSON, an unreadable CSV apart."""
    s3 = server.client()
    s3.create_bucket(Bucket=BUCKET)
    put = lambda key, body: s3.put_object(Bucket=BUCKET, Key=key, Body=body)  # noqa: E731
    put(
        "sales/orders.csv",
        b"id,customer,amount,ordered_on\n1,ann,2.50,2026-01-02\n2,bob,3.00,2026-01-03\n",
    )
    put("sales/customers.csv", b"id,name\n1,ann\n2,bob\n")
    put("sales/2026/january.csv", b"id,customer,amount,ordered_on\n3,cy,1.25,2026-01-05\n")
    put("sales/2026/february.csv", b"id,customer,amount,ordered_on\n4,di,9.75,2026-02-05\n")
    put("sales/readme.txt", b"not a table")
    put(
        "events/events.json",
        b'{"id": 1, "kind": "click", "at": "2026-01-01T00:00:00"}\n'
        b'{"id": 2, "kind": "view", "at": "2026-01-02T00:00:00"}\n',
    )
    put("broken/bad.csv", UNREADABLE_CSV)
    put("empty/readme.txt", b"no csv here")
    import duckdb

    parquet = log_folder / "scores.parquet"
    with duckdb.connect() as connection:
        connection.execute(
            "COPY (SELECT 1::INTEGER AS id, 'ann' AS name, 2.5::DOUBLE AS score) "
            f"TO '{parquet}' (FORMAT parquet)"
        )
    put("parquet/scores.parquet", parquet.read_bytes())


@contextmanager
def moto_server(log_path: Path) -> Iterator[S3Server]:
    """moto's server on a free loopback port, stopped at the end; authentication is turned
    on after the bucket is filled, so only the created IAM user's key is accepted."""
    import boto3

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(
            lambda: _answers(f"{base}/moto-api/data.json"),
            timeout=60,
            what="moto to answer",
            ignore=(OSError,),
        )
        iam = boto3.client(
            "iam",
            endpoint_url=base,
            aws_access_key_id="setup",
            aws_secret_access_key="setup",
            region_name="us-east-1",
        )
        iam.create_user(UserName="datadock")
        iam.put_user_policy(
            UserName="datadock",
            PolicyName="read",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
                }
            ),
        )
        key = iam.create_access_key(UserName="datadock")["AccessKey"]
        server = S3Server("127.0.0.1", port, key["AccessKeyId"], key["SecretAccessKey"])
        _fill(server, log_path.parent)
        _post(f"{base}/moto-api/reset-auth", b"0")  # from now on keys are checked
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def s3(tmp_path_factory) -> Iterator[S3Server]:
    """A filled moto S3 server for this test module. DuckDB's httpfs (a 25 MB library) is
    loaded once first, so the first verify's short deadline is not spent reading it."""
    from webapp.dialects.duckdb_net import open_with

    open_with(("httpfs",)).close()
    with moto_server(tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server
