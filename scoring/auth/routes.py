from flask import g, request
from flask_smorest import Blueprint
from sqlalchemy import select

from ..api import PageArgs, paginate, problem_response
from ..competitions.models import Section
from ..extensions import db
from .access import roles
from .models import ROLES, User, user_sections
from .operations import (
    change_own_password,
    claim_login_attempt,
    create_user,
    get_user,
    issue_token,
    login,
    revoke_tokens,
    set_password,
    update_user,
)
from .schemas import (
    MeOut,
    PasswordChangeIn,
    PasswordSetIn,
    RevokedOut,
    TokenIn,
    TokenOut,
    UserCreatedOut,
    UserIn,
    UserOut,
    UserPatchIn,
)

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Tokens and users.")


@blp.post("/auth/token")
@blp.doc(security=[])  # the one call that needs no token
@blp.arguments(TokenIn)
@blp.response(200, TokenOut)
@blp.alt_response(401, description="Wrong username or password (the answer does not say which).")
@blp.alt_response(429, description="Too many failed logins for this name from this address, or from this "
                  "address (Retry-After says when to try again).")
def post_token(data):
    address = request.remote_addr or ""  # the proxy's client, through TRUSTED_PROXIES (ProxyFix)
    # The claim's row lock (PostgreSQL) or BEGIN IMMEDIATE (SQLite) holds parallel attempts from this
    # address until this request commits: a burst cannot check more passwords than the limit.
    claim_login_attempt(data["username"], address)
    issued = login(data["username"], data["password"], address)
    if issued is None:  # answered, not raised: the failure is committed too, it counts towards the rate limit
        return problem_response(401, "Wrong username or password.")
    token, row = issued
    return {"token": token, "role": row.user.role, "expires_at": row.expires_at}


@blp.get("/auth/me")
@roles(*ROLES)
@blp.response(200, MeOut)
def get_me():
    """Who this token belongs to: role, competition and assigned sections (a client's start-up call)."""
    sections = db.session.scalars(
        select(Section.code).join(user_sections, user_sections.c.section_id == Section.id)
        .where(user_sections.c.user_id == g.user.id).order_by(Section.code))
    return {"id": g.user.id, "username": g.user.username, "role": g.user.role,
            "competition": g.user.competition_id, "sections": list(sections)}


@blp.post("/auth/token/revoke")
@roles(*ROLES)
@blp.response(200, RevokedOut)
def post_revoke_own():
    """Revoke the token this request carries (log out)."""
    revoked = revoke_tokens(g.user, g.user.token_id)
    return {"revoked": revoked}


@blp.post("/auth/password")
@roles(*ROLES)
@blp.arguments(PasswordChangeIn)
@blp.response(200, RevokedOut, description="Changed; the count of the caller's other tokens revoked.")
@blp.alt_response(422, description="The current password is wrong, or the new one breaks the rules.")
@blp.alt_response(429, description="Too many wrong passwords (counted with failed logins).")
def post_own_password(data):
    """Change your own password with the current one; your other tokens are revoked, this one stays."""
    revoked = change_own_password(g.user.id, g.user.token_id, data["current"], data["new"],
                                  request.remote_addr or "")
    if revoked is None:  # answered, not raised: the failure is committed too, it counts towards the rate limit
        return problem_response(422, "The current password is wrong.",
                                {"current": ["当前密码不正确。The current password is wrong."]})
    return {"revoked": revoked}


@blp.get("/users")
@roles("admin")
@blp.arguments(PageArgs, location="query")
@blp.response(200, UserOut(many=True))
def list_users(args):
    return paginate(select(User).order_by(User.id), args)


@blp.post("/users")
@roles("admin")
@blp.arguments(UserIn)
@blp.response(201, UserCreatedOut)
def post_user(data):
    """Create a user; the answer carries their first token (shown once)."""
    user = create_user(data["username"], data["role"], data["password"], data["competition"], data["sections"])
    token, row = issue_token(user)
    # UserCreatedOut dumps the user itself (a dict would lose `sections`); the token rides along, shown once.
    user.token, user.expires_at = token, row.expires_at
    return user


@blp.post("/users/<int:user_id>/tokens/revoke")
@roles("admin")
@blp.response(200, RevokedOut)
def post_revoke_user(user_id):
    """Revoke every token of a user, effective at once."""
    revoked = revoke_tokens(get_user(user_id))
    return {"revoked": revoked}


@blp.patch("/users/<int:user_id>")
@roles("admin")
@blp.arguments(UserPatchIn)
@blp.response(200, UserOut)
@blp.alt_response(409, description="The last active admin cannot be deactivated.")
def patch_user(data, user_id):
    """Deactivate or reactivate a user (`active`), reassign their `sections`, correct their `display_name`.
    Deactivating revokes every token at once and refuses the password like a wrong one."""
    reason = data.pop("reason", None)
    return update_user(get_user(user_id), data, reason)


@blp.post("/users/<int:user_id>/password")
@roles("admin")
@blp.arguments(PasswordSetIn)
@blp.response(200, RevokedOut, description="Set; the count of the user's tokens revoked.")
def post_user_password(data, user_id):
    """Set a user's password (forgotten, handed over); every token of theirs is revoked."""
    revoked = set_password(get_user(user_id), data["password"], data.get("reason"))
    return {"revoked": revoked}
