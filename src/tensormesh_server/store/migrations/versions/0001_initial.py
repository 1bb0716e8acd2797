"""Initial schema: users, API keys, CLI logins, browser sessions, tokens, activities.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _time(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _id() -> sa.Column[object]:
    return sa.Column("id", sa.String(36), primary_key=True)


def _user_fk(table: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(
        "user_id",
        sa.String(36),
        sa.ForeignKey("users.id", name=f"fk_{table}_user_id_users", ondelete="CASCADE"),
        nullable=nullable,
    )


def upgrade() -> None:
    op.create_table(
        "users",
        _id(),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("first_name", sa.String(200), nullable=False),
        sa.Column("last_name", sa.String(200), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("company", sa.String(200), nullable=False),
        sa.Column("avatar_url", sa.String(2000), nullable=False),
        sa.Column("auth_provider", sa.String(40), nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=True),
        _time("tos_accepted_at", nullable=True),
        _time("created_at"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )
    op.create_table(
        "api_keys",
        _id(),
        _user_fk("api_keys"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(32), nullable=False),
        _time("created_at"),
        _time("expires_at", nullable=True),
        _time("deleted_at", nullable=True),
        _time("last_used_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )
    op.create_index("ix_api_keys_user_id", "api_keys", ["user_id"])
    op.create_table(
        "cli_logins",
        _id(),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _user_fk("cli_logins", nullable=True),
        _time("created_at"),
        _time("expires_at"),
        _time("decided_at", nullable=True),
        _time("used_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_cli_logins"),
        sa.UniqueConstraint("code_hash", name="uq_cli_logins_code_hash"),
    )
    op.create_table(
        "browser_sessions",
        _id(),
        sa.Column("token_hash", sa.String(64), nullable=False),
        _user_fk("browser_sessions"),
        _time("created_at"),
        _time("expires_at"),
        sa.PrimaryKeyConstraint("id", name="pk_browser_sessions"),
        sa.UniqueConstraint("token_hash", name="uq_browser_sessions_token_hash"),
    )
    op.create_index("ix_browser_sessions_user_id", "browser_sessions", ["user_id"])
    for table, extra in (
        ("access_tokens", [_time("revoked_at", nullable=True)]),
        (
            "refresh_tokens",
            [_time("rotated_at", nullable=True), _time("revoked_at", nullable=True)],
        ),
    ):
        op.create_table(
            table,
            _id(),
            sa.Column("token_hash", sa.String(64), nullable=False),
            _user_fk(table),
            sa.Column("family_id", sa.String(36), nullable=False),
            _time("created_at"),
            _time("expires_at"),
            *extra,
            sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
            sa.UniqueConstraint("token_hash", name=f"uq_{table}_token_hash"),
        )
        op.create_index(f"ix_{table}_user_id", table, ["user_id"])
        op.create_index(f"ix_{table}_family_id", table, ["family_id"])
    op.create_table(
        "activities",
        _id(),
        sa.Column("actor_type", sa.String(40), nullable=False),
        sa.Column("actor_id", sa.String(64), nullable=False),
        sa.Column("actor_display", sa.String(320), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=True),
        sa.Column("action", sa.String(80), nullable=False),
        sa.Column("resource_type", sa.String(80), nullable=False),
        sa.Column("resource_id", sa.String(64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        _time("occurred_at"),
        _time("recorded_at"),
        sa.PrimaryKeyConstraint("id", name="pk_activities"),
    )
    op.create_index("ix_activities_action", "activities", ["action"])
    op.create_index("ix_activities_user_id_occurred_at", "activities", ["user_id", "occurred_at"])


def downgrade() -> None:
    for table in (
        "activities",
        "refresh_tokens",
        "access_tokens",
        "browser_sessions",
        "cli_logins",
        "api_keys",
        "users",
    ):
        op.drop_table(table)
