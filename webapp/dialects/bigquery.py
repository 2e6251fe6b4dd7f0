"""Google BigQuery: a service-account JSON key checked offline, google-cloud-bigquery with
deadlines, one INFORMATION_SCHEMA query per dataset, Google's errors mapped to fields."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..core.fields import FieldInvalid, FieldSpec
from ..core.steps import API_STEPS
from .base import Dialect, SchemaFilter, TableInfo, Target
from .cloud import catalog_failure, group_tables, sql_kind
from .errors_table import chain_text
from .gcp import (
    KEY_FIELD,
    PROJECT_FIELD,
    PROJECT_ID,
    check_project_id,
    credentials,
    google_rules,
    key_fields,
    parse_service_account,
    product_rule,
    project_of,
)
from .urls import UrlForm

SCOPES = ["https://www.googleapis.com/auth/bigquery"]
SYNC_SECONDS = 300.0
DATASET_ID = re.compile(r"^[A-Za-z0-9_]{1,1024}$")
LOCATION = re.compile(r"^[A-Za-z0-9-]{2,64}$")


def check_location(value: str) -> None:
    """A BigQuery location: a multi-region (US, EU) or a region (europe-west3)."""
    if not LOCATION.match(value):
        raise FieldInvalid("Use a BigQuery location, e.g. US, EU or europe-west3")


def check_bytes(value: str) -> None:
    """A whole number of bytes (text: it may be larger than a 32-bit integer)."""
    if not re.fullmatch(r"[0-9]{1,19}", value) or int(value) == 0:
        raise FieldInvalid("Use a whole number of bytes, e.g. 1000000000")


# Credible Data's BigQuery options (the billing project, location and the query limits).
OPTION_FIELDS = (
    FieldSpec(
        name="bigQueryBillingProjectId",
        label="Billing project ID",
        max_length=93,
        checks=(check_project_id,),
        placeholder="my-billing-project",
        help="The project query jobs run (and are billed) in. Blank: the project above.",
    ),
    FieldSpec(
        name="bigQueryLocation",
        label="Location",
        max_length=64,
        placeholder="US",
        checks=(check_location,),
        help="Where query jobs run (US, EU, a region). Blank: "
        "BigQuery picks the datasets' location.",
    ),
    FieldSpec(
        name="bigQueryMaximumBytesBilled",
        label="Maximum bytes billed",
        max_length=19,
        placeholder="1000000000",
        checks=(check_bytes,),
        help="A query that would bill more fails instead. Blank: no limit.",
    ),
    FieldSpec(
        name="bigQueryQueryTimeoutMs",
        label="Query timeout (ms)",
        kind="integer",
        min_value=1000,
        max_value=3_600_000,
        help=f"How long one catalog query may run. Blank: {SYNC_SECONDS:g} s.",
    ),
)

DATASET_QUERY = """
SELECT c.table_schema, c.table_name, t.table_type, c.column_name, c.data_type, c.is_nullable,
       c.column_default, pk.column_name IS NOT NULL, c.ordinal_position,
       CAST(NULL AS INT64), o.option_value, f.description
FROM `{ds}`.INFORMATION_SCHEMA.COLUMNS AS c
JOIN `{ds}`.INFORMATION_SCHEMA.TABLES AS t
  ON t.table_schema = c.table_schema AND t.table_name = c.table_name
LEFT JOIN `{ds}`.INFORMATION_SCHEMA.TABLE_OPTIONS AS o
  ON o.table_name = c.table_name AND o.option_name = 'description'
LEFT JOIN `{ds}`.INFORMATION_SCHEMA.COLUMN_FIELD_PATHS AS f
  ON f.table_name = c.table_name AND f.column_name = c.column_name
 AND f.field_path = c.column_name
LEFT JOIN (
  SELECT k.table_name, k.column_name
  FROM `{ds}`.INFORMATION_SCHEMA.KEY_COLUMN_USAGE AS k
  JOIN `{ds}`.INFORMATION_SCHEMA.TABLE_CONSTRAINTS AS tc
    ON tc.constraint_name = k.constraint_name AND tc.table_name = k.table_name
  WHERE tc.constraint_type = 'PRIMARY KEY'
) AS pk ON pk.table_name = c.table_name AND pk.column_name = c.column_name
ORDER BY c.table_name, c.ordinal_position
"""

DATASET_FIELD = "bigQueryDatasetId"


def check_dataset(value: str) -> None:
    """A dataset ID: letters, digits and underscores."""
    if not DATASET_ID.match(value):
        raise FieldInvalid("Use the dataset ID: letters, digits and _ only")


ERRORS = google_rules(
    "BigQuery",
    product_rule(r"Not found: Dataset", "database", DATASET_FIELD, "Dataset not found"),
    product_rule(
        r"Not found: Project|Project .* (was )?not found",
        "database",
        PROJECT_FIELD,
        "Project not found",
    ),
    product_rule(
        r"bigquery\.jobs\.create",
        "catalog",
        KEY_FIELD,
        "This service account cannot run queries (BigQuery Job User)",
    ),
)


@dataclass
class BigQueryConnection:
    """A client bound to one project, and the deadline of the calls made through it."""

    client: Any
    project: str
    timeout: float
    job_config: Any = None  # QueryJobConfig with maximum_bytes_billed, when one is set
    query_seconds: float = SYNC_SECONDS
    dataset: str | None = None  # the one dataset read, when one is given

    def close(self) -> None:
        """Close the client's HTTP session."""
        self.client.close()


class BigQuery(Dialect):
    """Google BigQuery with a service account."""

    key = "BIGQUERY"
    label = "Google BigQuery"
    category = "Warehouse"
    docs_url = "https://cloud.google.com/bigquery/docs/authentication/service-account-file"
    read_only_sql = """\
-- Per dataset; the service account also needs BigQuery Job User on the project (IAM).
GRANT `roles/bigquery.dataViewer`
ON SCHEMA `your-project.your_dataset`
TO "serviceAccount:datadock-reader@your-project.iam.gserviceaccount.com";"""
    extra = "bigquery"
    driver_modules = (
        "google.cloud.bigquery",
        "google.oauth2.service_account",
        "google.auth.transport.requests",
    )
    steps = API_STEPS
    driver_steps = ("auth", "database")
    fields = (
        *key_fields("BigQuery (roles BigQuery Data Viewer and BigQuery Job User)"),
        *OPTION_FIELDS,
        FieldSpec(
            name=DATASET_FIELD,
            label="Dataset (optional)",
            max_length=1024,
            checks=(check_dataset,),
            placeholder="analytics",
            help="The one dataset to sync; blank: every dataset of the project.",
        ),
    )
    errors = ERRORS
    error_text = staticmethod(chain_text)
    # bigquery://project-id[/dataset]
    url_schemes = ("bigquery",)
    url_form = UrlForm(
        host=PROJECT_FIELD,
        port=None,
        username=None,
        password=None,
        path=DATASET_FIELD,
        invalid="Paste bigquery://project-id",
    )

    @property
    def identity_names(self) -> tuple[str, ...]:
        """The project the key is used with."""
        return (PROJECT_FIELD,)

    def uses_tls(self, values: dict[str, Any]) -> bool:
        """Google's APIs are HTTPS only."""
        return True

    def check_local(self, values: dict[str, Any]) -> dict[str, str]:
        """The key parses as a service-account key whose private key loads."""
        _, errors = parse_service_account(values.get(KEY_FIELD))
        return {**super().check_local(values), **errors}

    def connect(self, target: Target) -> BigQueryConnection:
        """Get a token with the key (auth), then list one dataset of the project (database)."""
        from google.cloud import bigquery

        v = target.values
        project = project_of(v)
        creds = credentials(v, target.timeout, SCOPES)
        # Jobs run in the billing project; datasets are listed and read in the data project.
        client = bigquery.Client(
            project=v.get("bigQueryBillingProjectId") or project,
            credentials=creds,
            location=v.get("bigQueryLocation") or None,
        )
        try:
            if v.get(DATASET_FIELD):
                client.get_dataset(f"{project}.{v[DATASET_FIELD]}", timeout=target.timeout)
            else:
                list(client.list_datasets(project=project, max_results=1, timeout=target.timeout))
        except BaseException:
            client.close()
            raise
        limit = v.get("bigQueryMaximumBytesBilled")
        config = bigquery.QueryJobConfig(maximum_bytes_billed=int(limit)) if limit else None
        timeout_ms = v.get("bigQueryQueryTimeoutMs")
        return BigQueryConnection(
            client,
            project,
            target.timeout,
            config,
            timeout_ms / 1000 if timeout_ms else SYNC_SECONDS,
            v.get(DATASET_FIELD) or None,
        )

    def check_catalog(self, connection: BigQueryConnection) -> None:
        """A trivial query: the service account may run query jobs (the sync needs them)."""
        try:
            job = connection.client.query(
                "SELECT 1", job_config=connection.job_config, timeout=connection.timeout
            )
            list(job.result(timeout=connection.timeout))
        except Exception as exc:
            failure = self.classify(exc, Target({}, None, connection.timeout))
            raise catalog_failure(
                failure, KEY_FIELD, "This service account cannot run queries (BigQuery Job User)"
            ) from exc

    def server_version(self, connection: BigQueryConnection) -> str:
        """ "Google BigQuery (project my-project)"."""
        return f"Google BigQuery (project {connection.project})"

    def introspect(
        self, connection: BigQueryConnection, schemas: SchemaFilter | None = None
    ) -> Iterator[TableInfo]:
        """One INFORMATION_SCHEMA query per allowed dataset, results paged."""
        schemas = schemas or SchemaFilter()
        client, project = connection.client, connection.project
        seconds = connection.query_seconds
        if not PROJECT_ID.match(project):
            raise ValueError("invalid project id")
        datasets = (
            [connection.dataset]
            if connection.dataset
            else (
                item.dataset_id
                for item in client.list_datasets(project=project, timeout=SYNC_SECONDS)
            )
        )
        for dataset in datasets:
            if not DATASET_ID.match(dataset) or not schemas.allows(dataset):
                continue
            sql = DATASET_QUERY.format(ds=f"{project}.{dataset}")
            job = client.query(sql, job_config=connection.job_config, timeout=seconds)
            rows = (tuple(r.values()) for r in job.result(timeout=seconds, page_size=5000))
            cleaned = (
                (*r[:6], None if r[6] in (None, "NULL") else r[6], *r[7:10], _text(r[10]), *r[11:])
                for r in rows
            )
            yield from group_tables(cleaned, schemas, sql_kind)


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


def _text(option_value: Any) -> str | None:
    """TABLE_OPTIONS' description is a string literal ("…" with backslash escapes): its text."""
    if not isinstance(option_value, str):
        return None
    text = option_value.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = re.sub(
            r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text[1:-1], flags=re.S
        )
    return text or None


REGISTER = (BigQuery(),)
