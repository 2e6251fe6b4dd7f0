"""Amazon Athena: an IAM access key checked offline, the AWS SDK (boto3) with deadlines and
no retries, queries polled under a deadline, one information_schema query per catalog."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult

from ..core.steps import API_STEPS
from .base import Dialect, SchemaFilter, TableInfo, Target
from .cloud import catalog_failure, group_tables, sql_kind
from .errors_table import ErrorRule, Failure, vendor_timeout
from .fields import FieldInvalid, FieldSpec, password_field
from .urls import UrlForm

REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$")
ACCESS_KEY_ID = re.compile(r"^AKIA[A-Z2-7]{16}$")
SECRET_KEY = re.compile(r"^[A-Za-z0-9/+]{40}$")
WORKGROUP = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
CATALOG = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
BUCKET = re.compile(r"^(?!\d+\.\d+\.\d+\.\d+$)(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
SYNC_SECONDS = 300.0

CATALOG_QUERY = """
SELECT c.table_schema, c.table_name, t.table_type, c.column_name, c.data_type, c.is_nullable,
       c.column_default, false, c.ordinal_position
FROM information_schema.columns c
JOIN information_schema.tables t
  ON t.table_schema = c.table_schema AND t.table_name = c.table_name
WHERE c.table_schema <> 'information_schema'
ORDER BY c.table_schema, c.table_name, c.ordinal_position
"""


def check_region(value: str) -> None:
    """An AWS region code such as us-east-1."""
    if not REGION.match(value):
        raise FieldInvalid("Use an AWS region code, e.g. us-east-1 or eu-west-3")


def check_access_key_id(value: str) -> None:
    """An IAM user's long-term access key ID."""
    if value.startswith("ASIA"):
        raise FieldInvalid(
            "Temporary keys (ASIA…) need a session token: use an IAM user's access key (AKIA…)"
        )
    if not ACCESS_KEY_ID.match(value):
        raise FieldInvalid("An access key ID is AKIA followed by 16 capital letters and digits")


def check_output_location(value: str) -> None:
    """s3://bucket/optional/prefix/ with a valid bucket name."""
    match = re.fullmatch(r"s3://([^/]+)(/.*)?", value)
    if not match:
        raise FieldInvalid("Use an S3 URL: s3://bucket/prefix/")
    if not BUCKET.match(match.group(1)):
        raise FieldInvalid(
            "The bucket name must be 3–63 lowercase letters, digits, dots and "
            "dashes, starting and ending with a letter or digit"
        )


def check_workgroup(value: str) -> None:
    """Workgroup names: letters, digits, '.', '_' and '-'."""
    if not WORKGROUP.match(value):
        raise FieldInvalid("Use letters, digits, ., _ and - (up to 128)")


def check_catalog_name(value: str) -> None:
    """Data catalog names: letters, digits, '_' and '-'."""
    if not CATALOG.match(value):
        raise FieldInvalid("Use letters, digits, _ and -")


class QueryFailed(Exception):
    """An Athena query ended FAILED or CANCELLED; carries Athena's reason (logged only)."""

    def __init__(self, state: str, reason: str, error_type: int | None = None) -> None:
        super().__init__(f"{state}: {reason}")
        self.state, self.reason, self.error_type = state, reason, error_type


@dataclass
class AthenaConnection:
    """An Athena client bound to a workgroup, catalog and result location."""

    client: Any
    workgroup: str
    catalog: str
    output: str | None
    timeout: float
    workgroup_output: str | None = None
    database: str | None = None  # the one Glue database read, when one is given

    def rows(self, sql: str, timeout: float) -> Iterator[tuple]:
        """Run a query, wait for it under the deadline (stopping it when exceeded), then page
        through its results (the header row skipped)."""
        started = time.monotonic()
        request: dict[str, Any] = {
            "QueryString": sql,
            "WorkGroup": self.workgroup,
            "QueryExecutionContext": {"Catalog": self.catalog},
        }
        if self.output:
            request["ResultConfiguration"] = {"OutputLocation": self.output}
        query_id = self.client.start_query_execution(**request)["QueryExecutionId"]
        pause = 0.2
        while True:
            status = self.client.get_query_execution(QueryExecutionId=query_id)["QueryExecution"][
                "Status"
            ]
            state = status["State"]
            if state == "SUCCEEDED":
                break
            if state in ("FAILED", "CANCELLED"):
                reason = status.get("AthenaError", {})
                raise QueryFailed(
                    state, status.get("StateChangeReason", ""), reason.get("ErrorType")
                )
            if time.monotonic() - started > timeout:
                self.client.stop_query_execution(QueryExecutionId=query_id)
                raise TimeoutError(f"Athena query still {state} after {timeout:g} s")
            time.sleep(pause)
            pause = min(pause * 2, 2.0)
        pages = self.client.get_paginator("get_query_results").paginate(
            QueryExecutionId=query_id, PaginationConfig={"PageSize": 1000}
        )
        first = True
        for page in pages:
            for row in page["ResultSet"]["Rows"]:
                if first:
                    first = False
                    continue
                yield tuple(d.get("VarCharValue") for d in row["Data"])

    def close(self) -> None:
        """Close the client's connection pool."""
        close = getattr(self.client, "close", None)
        if close is not None:
            close()


_NAMED_NOT_FOUND = ("InvalidRequestException", "ResourceNotFoundException", "MetadataException")
# AWS error codes (and Athena's query states), with AWS's or the query's message as the text.
ERRORS = (
    ErrorRule(
        Failure(
            "auth",
            "AWS does not know this access key ID.",
            {"athenaAccessKeyId": "Unknown access key ID"},
        ),
        code=("UnrecognizedClientException", "InvalidClientTokenId"),
    ),
    ErrorRule(
        Failure(
            "auth",
            "The secret access key does not match the key ID.",
            {"password": "Incorrect secret access key"},
        ),
        code=("InvalidSignatureException", "SignatureDoesNotMatch"),
    ),
    ErrorRule(
        Failure(
            "auth",
            "This IAM user may not use Athena here (athena:GetWorkGroup, "
            "athena:GetDataCatalog, athena:StartQueryExecution, …).",
            {"athenaAccessKeyId": "This key may not use Athena"},
        ),
        code="AccessDeniedException",
    ),
    ErrorRule(
        Failure(
            "database",
            "There is no workgroup {athenaWorkgroup!r} in {athenaRegion}.",
            {"athenaWorkgroup": "Workgroup not found"},
        ),
        code=_NAMED_NOT_FOUND,
        also="(?i)work ?group",
    ),
    ErrorRule(
        Failure(
            "database",
            "The data catalog {athenaCatalog!r} has no database {athenaDatabase!r}.",
            {"athenaDatabase": "Database not found"},
        ),
        code=_NAMED_NOT_FOUND,
        also="(?i)database",
        given=("athenaDatabase",),
    ),
    ErrorRule(
        Failure(
            "database",
            "There is no data catalog {athenaCatalog!r} in {athenaRegion}.",
            {"athenaCatalog": "Data catalog not found"},
        ),
        code=_NAMED_NOT_FOUND,
        also="(?i)catalog",
    ),
    ErrorRule(
        Failure(
            "database",
            "This workgroup has no query result location: enter one.",
            {"athenaOutputLocation": "Enter an s3:// location for query results"},
        ),
        code="NO_OUTPUT",
    ),
    ErrorRule(
        Failure(
            "catalog",
            "Athena could not write query results to the result location. "
            "Check the bucket exists in this region and the key may write to it.",
            {"athenaOutputLocation": "Cannot write query results here"},
        ),
        types=(QueryFailed,),
        also="(?i)output|bucket|s3|Access denied",
    ),
    ErrorRule(
        vendor_timeout("Amazon Athena", "athenaRegion"),
        chain=("ConnectTimeoutError", "ReadTimeoutError", "TimeoutError"),
    ),
    ErrorRule(
        Failure(
            "auth",
            "Datadock's server could not reach Athena in {athenaRegion}. "
            "Check the region and the server's internet access.",
            {"athenaRegion": "Athena is not reachable in this region"},
        ),
        chain=("EndpointConnectionError",),
    ),
)


def _aws_error(exc: BaseException) -> dict[str, Any]:
    response = getattr(exc, "response", None)  # botocore's timeouts carry response=None
    error = response.get("Error") if isinstance(response, dict) else None
    return error if isinstance(error, dict) else {}


def _region_of_host(parts: SplitResult, options: dict[str, str]) -> dict[str, Any]:
    """athena.REGION.amazonaws.com names the region."""
    region = re.match(r"athena\.([a-z0-9-]+)\.amazonaws\.com", parts.hostname or "")
    return {"athenaRegion": region.group(1)} if region else {}


class Athena(Dialect):
    """Amazon Athena with an IAM user's access key."""

    key = "ATHENA"
    label = "Amazon Athena"
    category = "Query engine"
    docs_url = "https://docs.aws.amazon.com/athena/latest/ug/getting-started.html"
    read_only_note = (
        "Athena's access is IAM, not SQL: give an IAM user read access to Athena, "
        "the Glue Data Catalog and the data in S3, and write access to the result location."
    )
    extra = "athena"
    driver_modules = ("boto3", "botocore.config")
    steps = API_STEPS
    driver_steps = ("auth", "database")
    errors = ERRORS
    # awsathena+rest://KEY:SECRET@athena.REGION.amazonaws.com:443/schema?s3_staging_dir=…
    url_schemes = ("awsathena", "athena")
    url_form = UrlForm(
        host=None,
        port=None,
        username="athenaAccessKeyId",
        path=None,
        more=_region_of_host,
        options={
            "s3_staging_dir": "athenaOutputLocation",
            "work_group": "athenaWorkgroup",
            "catalog_name": "athenaCatalog",
            "region_name": "athenaRegion",
        },
    )
    fields = (
        FieldSpec(
            name="athenaRegion",
            label="AWS region",
            required=True,
            default="us-east-1",
            max_length=32,
            checks=(check_region,),
            placeholder="us-east-1",
        ),
        FieldSpec(
            name="athenaAccessKeyId",
            label="Access key ID",
            required=True,
            max_length=20,
            checks=(check_access_key_id,),
            placeholder="AKIAIOSFODNN7EXAMPLE",
            help="An IAM user's access key with Athena, Glue (read) and S3 access to the "
            "data and the result location.",
            docs="https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html",
        ),
        password_field(label="Secret access key", max_length=40),
        FieldSpec(
            name="athenaWorkgroup",
            label="Workgroup",
            default="primary",
            max_length=128,
            checks=(check_workgroup,),
        ),
        FieldSpec(
            name="athenaOutputLocation",
            label="Query result location",
            max_length=1024,
            checks=(check_output_location,),
            placeholder="s3://my-bucket/athena-results/",
            help="Where Athena writes query results (s3://…). Blank uses the "
            "workgroup's own setting.",
        ),
        FieldSpec(
            name="athenaCatalog",
            label="Data catalog",
            default="AwsDataCatalog",
            max_length=256,
            checks=(check_catalog_name,),
        ),
        FieldSpec(
            name="athenaDatabase",
            label="Database (optional)",
            max_length=255,
            checks=(check_catalog_name,),
            placeholder="analytics",
            help="The one database (Glue schema) to sync; blank: every database.",
        ),
    )

    @property
    def identity_names(self) -> tuple[str, ...]:
        """The region and key ID: where the secret key is used."""
        return ("athenaRegion", "athenaAccessKeyId")

    def uses_tls(self, values: dict[str, Any]) -> bool:
        """AWS APIs are HTTPS only."""
        return True

    def check_local(self, values: dict[str, Any]) -> dict[str, str]:
        """The secret key's shape (never shown back)."""
        errors = super().check_local(values)
        secret = values.get("password") or ""
        if secret and not SECRET_KEY.match(secret):
            errors.update({"password": "A secret access key is 40 letters, digits, / and +"})
        return errors

    def connect(self, target: Target) -> AthenaConnection:
        """Read the workgroup (checks the key, then the workgroup), then the data catalog."""
        import boto3
        from botocore.config import Config

        v = target.values
        config = Config(
            connect_timeout=target.timeout,
            read_timeout=target.timeout,
            retries={"max_attempts": 1, "mode": "standard"},
            user_agent_extra="datadock",
        )
        session = boto3.session.Session(
            aws_access_key_id=v["athenaAccessKeyId"],
            aws_secret_access_key=v["password"],
            region_name=v["athenaRegion"],
        )
        client = session.client("athena", config=config)
        workgroup = client.get_work_group(WorkGroup=v["athenaWorkgroup"])["WorkGroup"]
        result = workgroup.get("Configuration", {}).get("ResultConfiguration", {})
        connection = AthenaConnection(
            client,
            v["athenaWorkgroup"],
            v["athenaCatalog"],
            v.get("athenaOutputLocation") or None,
            target.timeout,
            result.get("OutputLocation"),
        )
        if not connection.output and not connection.workgroup_output:
            raise QueryFailed("NO_OUTPUT", "no result location")
        client.get_data_catalog(Name=v["athenaCatalog"])
        if v.get("athenaDatabase"):
            client.get_database(CatalogName=v["athenaCatalog"], DatabaseName=v["athenaDatabase"])
            connection.database = v["athenaDatabase"]
        return connection

    def check_catalog(self, connection: AthenaConnection) -> None:
        """SELECT 1: writes a result to the result location (checks S3 access)."""
        try:
            list(connection.rows("SELECT 1", connection.timeout))
        except Exception as exc:
            values = {"athenaWorkgroup": connection.workgroup, "athenaCatalog": connection.catalog}
            failure = self.classify(exc, Target(values, None, connection.timeout))
            raise catalog_failure(
                failure,
                "athenaAccessKeyId",
                "This key cannot run queries here (athena:StartQueryExecution)",
            ) from exc

    def server_version(self, connection: AthenaConnection) -> str:
        """ "Amazon Athena (workgroup primary)"."""
        return f"Amazon Athena (workgroup {connection.workgroup})"

    def error_codes(self, exc: BaseException) -> tuple[Any, ...]:
        """AWS's error code, or the state of a failed query."""
        if isinstance(exc, QueryFailed):
            return (exc.state,)
        code = _aws_error(exc).get("Code")
        return (code,) if code else ()

    def error_text(self, exc: BaseException) -> str:
        """AWS's error message, or Athena's reason for a failed query."""
        if isinstance(exc, QueryFailed):
            return exc.reason
        return str(_aws_error(exc).get("Message", ""))

    def introspect(
        self, connection: AthenaConnection, schemas: SchemaFilter | None = None
    ) -> Iterator[TableInfo]:
        """One information_schema query over the catalog (or its one database), results
        paged."""
        rows = connection.rows(CATALOG_QUERY, SYNC_SECONDS)
        if connection.database:
            rows = (r for r in rows if r[0] == connection.database)
        yield from group_tables(rows, schemas, sql_kind)


REGISTER = (Athena(),)
