"""Commands: `flask --app wsgi users create|deactivate|reactivate|password …`, `demo`, `scheduler`,
`tallies check|rebuild`."""
from __future__ import annotations

import sys
from contextlib import contextmanager

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from .auth.operations import create_user, issue_token, set_password, update_user, user_named
from .backup import backup_command, restore_command
from .competitions.models import Competition
from .demo import load_demo
from .errors import Problem
from .extensions import db
from .reports.cli import reports_cli
from .scheduler.cli import scheduler_command
from .standings import tallies
from .standings.consistency import check_tallies

users = AppGroup("users", help="Users and their tokens.")
tallies_cli = AppGroup("tallies", help="The per-subject aggregates behind the boards.")


@users.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["admin", "supervisor", "viewer", "display", "contractor"]))
@click.option("--password", default=None, help="Lets the user log in at /api/v1/auth/token.")
@click.option("--sections", default="", help="Section codes for a supervisor or a contractor, e.g. LJ-01,LJ-02.")
@click.option("--competition", type=int, default=None, help="The competition id (needed with --sections).")
def create_user_command(name, role, password, sections, competition):
    """Make a user and print a bearer token for it."""
    codes = [c.strip() for c in sections.split(",") if c.strip()]
    if codes and competition is None and role in ("supervisor", "contractor"):
        competition = _only_competition()
    with _one_line_errors():
        user = create_user(name, role, password, competition, codes)
        token, row = issue_token(user)
    db.session.commit()
    click.echo(f"user {user.username} ({user.role}) created; token (shown once, {_validity(row)}):")
    _echo_token(user, token)


@users.command("token")
@click.argument("name")
@click.option("--revoke-others", is_flag=True, help="Revoke the user's other tokens first (a lost wall URL).")
def token_command(name, revoke_others):
    """Mint a new bearer token for an existing user (e.g. a wall screen's display token) and print it."""
    from sqlalchemy import select

    from .auth.models import User
    from .auth.operations import issue_token, revoke_tokens

    user = db.session.scalar(select(User).where(User.username == name))
    if user is None:
        raise click.ClickException(f"No user named {name!r}; make one with `users create {name} --role …`.")
    revoked = revoke_tokens(user, actor="cli") if revoke_others else 0
    token, row = issue_token(user)
    db.session.commit()
    if revoked:
        click.echo(f"{revoked} earlier token(s) of {name} revoked.")
    click.echo(f"new token for {user.username} ({user.role}; shown once, {_validity(row)}):")
    _echo_token(user, token)


def _echo_token(user, token: str) -> None:
    """The token on a line of its own (scripts take it from there); a display's wall path after it."""
    click.echo(token)
    if user.role == "display" and user.competition_id is not None:
        click.echo(f"wall display: http://HOST:PORT/wall/{user.competition_id}?token={token}")


def _validity(row) -> str:
    return f"valid until {row.expires_at:%Y-%m-%d}" if row.expires_at else "never expires; revoke it to stop it"


@contextmanager
def _one_line_errors():
    """An operation's Problem as one line of the command's output (and nothing stored)."""
    try:
        yield
    except Problem as problem:
        db.session.rollback()
        detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in (problem.errors or {}).items())
        raise click.ClickException(f"{problem.detail} {detail}".strip()) from None


@users.command("deactivate")
@click.argument("name")
@click.option("--reason", default=None, help="Why (kept in the audit trail), e.g. 调离项目.")
def deactivate_user_command(name, reason):
    """Take a user's access away: every token dies at once, the password is refused; history stays."""
    _set_active(name, False, reason)


@users.command("reactivate")
@click.argument("name")
@click.option("--reason", default=None, help="Why (kept in the audit trail).")
def reactivate_user_command(name, reason):
    """Let a deactivated user log in again with their password (old tokens stay revoked)."""
    _set_active(name, True, reason)


def _set_active(name: str, active: bool, reason: str | None) -> None:
    with _one_line_errors():
        user = update_user(user_named(name), {"active": active}, reason)
    db.session.commit()
    click.echo(f"user {user.username} {'reactivated' if active else 'deactivated: every token revoked'}")


@users.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from the first line of stdin.")
@click.option("--reason", default=None, help="Why (kept in the audit trail).")
def password_command(name, password_stdin, reason):
    """Set a user's password (at least 10 characters, not the username); their tokens are revoked."""
    with _one_line_errors():
        user = user_named(name)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    with _one_line_errors():
        revoked = set_password(user, password, reason)
    db.session.commit()
    click.echo(f"password of {user.username} set; {revoked} token(s) revoked")


def _only_competition() -> int | None:
    from sqlalchemy import select

    ids = db.session.scalars(select(Competition.id)).all()
    return ids[0] if len(ids) == 1 else None


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when a competition is already stored.")
@with_appcontext
def demo_command(if_empty):
    """Load the demo competition: the 121 km outer ring road of the seed article."""
    load_demo(if_empty=if_empty)


@tallies_cli.command("check")
@click.option("--repair", is_flag=True, help="Rebuild them when they drifted.")
def tallies_check(repair):
    """Compare the aggregates with a recomputation from the entries."""
    drift = check_tallies(repair=repair)
    db.session.commit()
    click.echo(f"{len(drift)} aggregate rows drifted" + (" (repaired)" if drift and repair else ""))
    for key, (stored, wanted) in list(drift.items())[:20]:
        click.echo(f"  {key}: stored {stored}, entries say {wanted}")


@tallies_cli.command("rebuild")
def tallies_rebuild():
    """Recompute every aggregate from the entries."""
    tallies.rebuild()
    db.session.commit()
    click.echo("aggregates rebuilt")


def init_app(app: Flask) -> None:
    app.cli.add_command(users)
    app.cli.add_command(tallies_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(reports_cli)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
