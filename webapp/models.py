"""Database models: organizations, users, sources and their schema snapshots."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db


def utcnow() -> datetime:
    """Timezone-aware now, stored as naive UTC by SQLite and as timestamptz-free UTC elsewhere."""
    return datetime.now(UTC).replace(tzinfo=None)


class Role(enum.StrEnum):
    """What a member may do in an organization."""

    ADMIN = "admin"
    MEMBER = "member"


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


class Organization(db.Model):
    """A tenant: its members share its sources."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    trial_started_at: Mapped[datetime | None]

    memberships: Mapped[list[Membership]] = relationship(back_populates="organization")


class User(UserMixin, db.Model):
    """A person who logs in with email and a hashed password."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="user")


class Membership(db.Model):
    """A user's role in one organization."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "organization_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    role: Mapped[str] = mapped_column(String(16), default=Role.MEMBER.value)

    user: Mapped[User] = relationship(back_populates="memberships")
    organization: Mapped[Organization] = relationship(back_populates="memberships")


class Source(db.Model):
    """A connected database: public fields, an encrypted blob of secrets, and its lifecycle."""

    __tablename__ = "sources"
    __table_args__ = (
        UniqueConstraint("organization_id", "display_name", name="uq_sources_org_name"),
        Index("ix_sources_due", "next_sync_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    display_name: Mapped[str] = mapped_column(String(120))
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
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    # Sync lifecycle (Basedash field names in the API).
    last_sync_status: Mapped[str] = mapped_column(
        String(16), default=SyncStatus.NEVER_SYNCED.value
    )
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

    # Job claiming: a sync is due when next_sync_at <= now and no live lease is held.
    next_sync_at: Mapped[datetime | None]
    sync_lease_owner: Mapped[str | None] = mapped_column(String(64))
    sync_lease_until: Mapped[datetime | None]


class SchemaSnapshot(db.Model):
    """One successful or in-progress read of a source's catalog."""

    __tablename__ = "schema_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    table_count: Mapped[int] = mapped_column(default=0)
    column_count: Mapped[int] = mapped_column(default=0)
    complete: Mapped[bool] = mapped_column(default=False)


class SchemaTable(db.Model):
    """A table or view of a snapshot, with its columns as a JSON list."""

    __tablename__ = "schema_tables"
    __table_args__ = (
        Index("ix_schema_tables_snapshot_name", "snapshot_id", "schema_name", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(
        ForeignKey("schema_snapshots.id", ondelete="CASCADE")
    )
    schema_name: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(24))
    # [{"name", "type", "nullable", "primaryKey", "ordinal", "default"}]
    columns: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
