"""Database models: organizations, users, sources, schema snapshots, jobs' history, API keys,
the audit log and throttle counters."""

from __future__ import annotations

import enum
import secrets
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from .extensions import db
from .names import name_key

# Flask-SQLAlchemy's db.Model at run time; its typed declarative base for mypy.
if TYPE_CHECKING:
    from .extensions import Base as Model
else:
    Model = db.Model


def utcnow() -> datetime:
    """Timezone-aware now, stored as naive UTC by SQLite and as timestamptz-free UTC elsewhere."""
    return datetime.now(UTC).replace(tzinfo=None)


class Role(enum.StrEnum):
    """What a member may do in an organization (each role includes the ones below it)."""

    ADMIN = "admin"  # members, invitations, API keys, notification settings, audit log
    EDITOR = "editor"  # add, edit, verify, sync and delete sources
    VIEWER = "viewer"  # reads sources, their health, sync history and schema


class KeyScope(enum.StrEnum):
    """What an API key may do: read (GET only), write (sources), admin (everything)."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


class SyncStatus(enum.StrEnum):
    """The Basedash `lastSyncStatus` values."""

    NEVER_SYNCED = "NEVER_SYNCED"
    PENDING = "PENDING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"


class HealthStatus(enum.StrEnum):
    """The Basedash `lastHealthStatus` values."""

    HEALTHY = "HEALTHY"
    UNHEALTHY = "UNHEALTHY"


class Organization(Model):
    """A tenant: its members share its sources."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    trial_started_at: Mapped[datetime | None]

    memberships: Mapped[list[Membership]] = relationship(back_populates="organization")


def new_session_generation() -> str:
    """A fresh session generation for a user."""
    return secrets.token_hex(16)


class User(UserMixin, Model):
    """A person who logs in with email and a hashed password."""

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("oidc_issuer", "oidc_subject", name="uq_users_oidc_identity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    # The OpenID Connect identity (issuer, subject) the user signs in with (webapp/sso.py).
    oidc_issuer: Mapped[str | None] = mapped_column(String(255))
    oidc_subject: Mapped[str | None] = mapped_column(String(255))
    # The name a person gave when accepting an invitation (admins made by setup have none).
    name: Mapped[str | None] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Every session carries this; replacing it (accounts.end_sessions) ends them all at once.
    # Random rather than a counter, so a reused user id never revives an old cookie.
    session_generation: Mapped[str] = mapped_column(String(32), default=new_session_generation)
    # The last request of one of the user's sessions (written at most once a minute).
    last_seen_at: Mapped[datetime | None]

    memberships: Mapped[list[Membership]] = relationship(back_populates="user")

    def get_id(self) -> str:
        """Flask-Login's id for sessions (and remember cookies): user id and generation."""
        return f"{self.id}:{self.session_generation}"


class SsoState(Model):
    """An OpenID Connect sign-in in flight: its state's data (nonce, PKCE verifier, redirect
    URI), written by /login/sso and taken exactly once by the callback (webapp/oidc.py)."""

    __tablename__ = "sso_states"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime]


class Installation(Model):
    """The one row first-run setup claims in its own transaction: setup happens exactly once."""

    __tablename__ = "installation"
    __table_args__ = (CheckConstraint("id = 1", name="ck_installation_singleton"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    set_up_at: Mapped[datetime] = mapped_column(default=utcnow)


class Membership(Model):
    """A user's role in one organization."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "organization_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16), default=Role.VIEWER.value)
    created_at: Mapped[datetime | None] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    organization: Mapped[Organization] = relationship(back_populates="memberships")


class Invitation(Model):
    """A single-use link that lets one email join an organization with a role; only the
    SHA-256 of its token is stored."""

    __tablename__ = "invitations"
    __table_args__ = (
        UniqueConstraint("token_hash", name="uq_invitations_token_hash"),
        Index("ix_invitations_org_email", "organization_id", "email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None]

    organization: Mapped[Organization] = relationship()


def _name_key_default(context: DefaultExecutionContext) -> str | None:
    """The key of an inserted row's display name, for inserts that bypass the ORM object."""
    name = context.get_current_parameters().get("display_name")
    return name_key(name) if name is not None else None


class Project(Model):
    """A grouping of sources inside an organization (Credible Data's projects)."""

    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("organization_id", "name", name="uq_projects_org_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    # ^[a-zA-Z0-9_-]+$ (webapp/sources/projects.py), compared exactly.
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def new_public_id() -> str:
    """A fresh public UUID (a source's, an onboarding link's connection id)."""
    return str(uuid.uuid4())


class Source(Model):
    """A connected database: public fields, an encrypted blob of secrets, and its lifecycle."""

    __tablename__ = "sources"
    __table_args__ = (
        # Names are unique by their key (webapp/names.py), not by their exact spelling.
        Index("uq_sources_org_name_key", "organization_id", "name_key", unique=True),
        UniqueConstraint("webhook_token_hash", name="uq_sources_webhook_token"),
        UniqueConstraint("public_id", name="uq_sources_public_id"),
        Index("ix_sources_due", "next_sync_at"),
        Index("ix_sources_health_due", "next_health_at"),
        # SQLite never reuses a deleted source's id (migration 0a1b2c3d4e5f).
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The id faces may give out instead of the row number (a UUID, accepted wherever an id is).
    public_id: Mapped[str] = mapped_column(String(36), default=new_public_id)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    display_name: Mapped[str] = mapped_column(String(120))
    # What names are compared by: set whenever display_name is (ORM) or inserted (Core).
    name_key: Mapped[str] = mapped_column(String(400), default=_name_key_default)
    description: Mapped[str | None] = mapped_column(Text)
    dialect: Mapped[str] = mapped_column(String(32))
    # Public connection fields shared by most dialects live in columns; the rest in `settings`.
    host: Mapped[str | None] = mapped_column(String(253))
    port: Mapped[int | None]
    database_name: Mapped[str | None] = mapped_column(String(255))
    username: Mapped[str | None] = mapped_column(String(255))
    ssl_enabled: Mapped[bool] = mapped_column(default=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Secret fields, JSON-encoded and encrypted with MultiFernet (vault.py).
    secrets_blob: Mapped[bytes | None] = mapped_column(LargeBinary)
    is_demo: Mapped[bool] = mapped_column(default=False)
    # The project it belongs to, if any (webapp/sources/projects.py).
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    # Sync lifecycle (Basedash field names in the API).
    last_sync_status: Mapped[str] = mapped_column(String(16), default=SyncStatus.NEVER_SYNCED.value)
    last_sync_attempt_at: Mapped[datetime | None]
    last_successful_sync_at: Mapped[datetime | None]
    has_completed_first_sync: Mapped[bool] = mapped_column(default=False)
    sync_error_message: Mapped[str | None] = mapped_column(Text)
    sync_failures: Mapped[int] = mapped_column(default=0)
    # The last good snapshot (no foreign key: snapshots already point at their source).
    current_snapshot_id: Mapped[int | None]

    # Health lifecycle.
    last_health_status: Mapped[str | None] = mapped_column(String(16))
    last_healthy_at: Mapped[datetime | None]
    last_health_check_attempt_at: Mapped[datetime | None]
    # Consecutive failed checks, and when the open incident (alerted) began: jobs/events.py.
    health_failures: Mapped[int] = mapped_column(default=0, server_default="0")
    health_incident_at: Mapped[datetime | None]

    # Job claiming: a sync is due when next_sync_at <= now and no live lease is held.
    next_sync_at: Mapped[datetime | None]
    sync_lease_owner: Mapped[str | None] = mapped_column(String(64))
    sync_lease_until: Mapped[datetime | None]
    # The same for health checks.
    next_health_at: Mapped[datetime | None]
    health_lease_owner: Mapped[str | None] = mapped_column(String(64))
    health_lease_until: Mapped[datetime | None]

    # Which schemas a sync reads: comma-separated glob patterns (e.g. "public, analytics_*").
    include_schemas: Mapped[str | None] = mapped_column(Text)
    exclude_schemas: Mapped[str | None] = mapped_column(Text)
    # Basedash API fields stored as given.
    max_pool_size: Mapped[int | None]
    mutating_queries_enabled: Mapped[bool] = mapped_column(default=False)
    # A per-source webhook that triggers a sync: only a hash of its token is kept.
    webhook_token_hash: Mapped[str | None] = mapped_column(String(128))

    # Schedules (jobs/schedules.py): next_sync_at/next_health_at are computed from these when
    # they are saved and after each run; a paused source runs only what is asked for by hand.
    sync_schedule: Mapped[str] = mapped_column(
        String(100), default="interval", server_default="interval"
    )
    sync_time: Mapped[str] = mapped_column(String(5), default="00:00", server_default="00:00")
    sync_timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    health_check_interval_minutes: Mapped[int] = mapped_column(default=5, server_default="5")
    paused: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Consecutive failed health checks before the source counts as unhealthy for alerts.
    alert_after_failures: Mapped[int] = mapped_column(default=2, server_default="2")

    @validates("display_name")
    def _keep_name_key(self, _attribute: str, value: str) -> str:
        self.name_key = name_key(value) if value is not None else None
        return value


class SchemaSnapshot(Model):
    """One successful or in-progress read of a source's catalog."""

    __tablename__ = "schema_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    table_count: Mapped[int] = mapped_column(default=0)
    column_count: Mapped[int] = mapped_column(default=0)
    complete: Mapped[bool] = mapped_column(default=False)


class SchemaTable(Model):
    """A table or view of a snapshot, with its columns as a JSON list."""

    __tablename__ = "schema_tables"
    __table_args__ = (
        Index("ix_schema_tables_snapshot_name", "snapshot_id", "schema_name", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("schema_snapshots.id", ondelete="CASCADE"))
    schema_name: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(24))
    # [{"name", "type", "nullable", "primaryKey", "ordinal", "default", "comment"?}]
    columns: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # [{"name", "columns": [...], "referredSchema", "referredTable", "referredColumns": [...]}]
    foreign_keys: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    row_estimate: Mapped[int | None] = mapped_column(BigInteger)
    # The catalog's comment on the table or view (COMMENT ON, a description); NULL when none.
    comment: Mapped[str | None] = mapped_column(Text)
    # Digest of the columns' names and types (jobs/diff.py); NULL for rows stored before it.
    columns_hash: Mapped[str | None] = mapped_column(String(32))
    # Digest of everything else the row stores (kind, columns, keys, estimate, comment): a sync
    # leaves an unchanged table's row where it is (jobs/diff.py Carry); NULL for older rows.
    content_hash: Mapped[str | None] = mapped_column(String(32))


class SyncRun(Model):
    """One schema sync attempt: when, how it ended, and what changed since the previous one."""

    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_source_started", "source_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    # QUEUED (requested, not started), RUNNING, SUCCESS or FAILED (jobs/runs.py).
    status: Mapped[str] = mapped_column(String(16), default="RUNNING")
    trigger: Mapped[str] = mapped_column(String(16), default="schedule")
    error_message: Mapped[str | None] = mapped_column(Text)
    table_count: Mapped[int] = mapped_column(default=0)
    column_count: Mapped[int] = mapped_column(default=0)
    change_count: Mapped[int] = mapped_column(default=0)
    # {"tablesAdded": [...], "tablesRemoved": [...], "columnsAdded": [...],
    #  "columnsRemoved": [...], "columnsRetyped": [...]}
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class HealthCheck(Model):
    """One periodic health check of a source: healthy or not, and the round trip."""

    __tablename__ = "health_checks"
    __table_args__ = (Index("ix_health_checks_source_checked", "source_id", "checked_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    checked_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    healthy: Mapped[bool]
    latency_ms: Mapped[int | None]
    error_message: Mapped[str | None] = mapped_column(Text)


class ApiKey(Model):
    """A bearer key for the public API: shown once, stored as a hash, revocable."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(120))
    # The first characters of the key, shown in lists so people can tell keys apart.
    prefix: Mapped[str] = mapped_column(String(32))
    key_hash: Mapped[str] = mapped_column(String(128), unique=True)
    # KeyScope; keys made before scopes existed are admin keys.
    scope: Mapped[str] = mapped_column(
        String(16), default=KeyScope.ADMIN.value, server_default=KeyScope.ADMIN.value
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    created_by: Mapped[User | None] = relationship()


class AuditEvent(Model):
    """Who did what to which object, when, from which address."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_org_created", "organization_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_api_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL")
    )
    # The actor as shown: an email, or "API key <name> (<prefix>…)".
    actor: Mapped[str] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[int | None]
    target_name: Mapped[str | None] = mapped_column(String(255))
    ip_address: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ThrottleCounter(Model):
    """A fixed-window counter in the store, so limits hold across processes.

    `scope` says what is limited ("api", "login"), `key` whom (an API key id, an email and
    address), `window_start` which window.
    """

    __tablename__ = "throttle_counters"
    __table_args__ = (PrimaryKeyConstraint("scope", "key", "window_start"),)

    scope: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(255))
    window_start: Mapped[datetime]
    count: Mapped[int] = mapped_column(default=0)


class Event(Model):
    """Something that happened to a source, recorded once with its webhook payload."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_org_id", "organization_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    # No foreign key: an event outlives its source (the payload keeps its name).
    source_id: Mapped[int | None] = mapped_column(index=True)
    type: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    # {"id", "type", "occurredAt", "organizationId", "source", "data", "url"}
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class NotificationChannel(Model):
    """Where an organization's events go: a signed webhook, Slack or email."""

    __tablename__ = "notification_channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120))
    # What a page may show: the URL's host, or the email addresses.
    target: Mapped[str] = mapped_column(String(2000))
    # {"url", "signingSecret"} encrypted with the vault (emails keep {"addresses"} here too).
    secrets_blob: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Event types and source ids subscribed to; NULL means all.
    events: Mapped[list[str] | None] = mapped_column(JSON)
    source_ids: Mapped[list[int] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Delivery(Model):
    """One event sent to one channel: pending (with retries), delivered or failed."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_channel_id", "channel_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="CASCADE")
    )
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    # pending, delivered or failed (webapp/metrics.py counts them by this).
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    response_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(500))
    # [{"at", "code", "error"}] of the latest attempts (shown on the channel's log).
    attempt_log: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]


class OnboardingLink(Model):
    """A single-use, expiring link with which someone without an account connects one source
    of one dialect to an organization (webapp/onboarding/); only the SHA-256 of its token is
    stored. `public_id` is the connection id the Supermetrics face answers."""

    __tablename__ = "onboarding_links"
    __table_args__ = (
        UniqueConstraint("token_hash", name="uq_onboarding_links_token_hash"),
        UniqueConstraint("public_id", name="uq_onboarding_links_public_id"),
        Index("ix_onboarding_links_org_created", "organization_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), default=new_public_id)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    dialect: Mapped[str] = mapped_column(String(32))
    display_name: Mapped[str | None] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64))
    # Who made it, as the audit log shows actors (an email or "API key …").
    created_by: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    # Held while a completion verifies, so two submissions cannot both use the link.
    claimed_until: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(300))
    completed_ip: Mapped[str | None] = mapped_column(String(64))
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None]

    organization: Mapped[Organization] = relationship()
