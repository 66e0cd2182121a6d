"""OAuth2 password flow for users of the API."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, HTTPException, Request

from collector.api.schemas import TokenResponse
from collector.http.deps import DbSession, Public, Settings
from collector.plugins import RouterSpec
from collector.services.errors import Unauthorized
from collector.services.throttle import TooManyAttempts
from collector.services.users import authenticate, create_auth_session

router = APIRouter(tags=["auth"])


@router.post(
    "/auth/token",
    dependencies=[Public],
    response_model=TokenResponse,
    responses={
        401: {"description": "Wrong username or password."},
        429: {"description": "Too many failed logins from this address or for this user: wait."},
    },
)
def token(
    username: Annotated[str, Form(min_length=1, max_length=150)],
    password: Annotated[str, Form(min_length=1, max_length=1024)],
    request: Request,
    session: DbSession,
    settings: Settings,
    grant_type: Annotated[Literal["password"], Form()] = "password",
) -> TokenResponse:
    """The OAuth2 password flow (``grant_type=password``): a bearer token for the user's API calls."""
    address = request.client.host if request.client else None
    try:
        user = authenticate(session, username=username, password=password, address=address)
    except TooManyAttempts as exc:
        session.commit()  # keep the count of refused attempts
        raise HTTPException(429, str(exc), headers={"Retry-After": str(exc.retry_after)}) from None
    except Unauthorized as exc:
        session.commit()  # keep the throttle state and the count of failures
        raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from None
    value, _ = create_auth_session(session, user, kind="api", hours=settings.token_hours, address=address)
    session.commit()
    return TokenResponse(
        access_token=value,
        expires_in=settings.token_hours * 3600,
        password_change_required=user.must_change_password,
    )


PLUGIN = RouterSpec(router)
