"""Users of the partner and their own API keys (E4, AP1): administrators only."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from creditdesk.services.access import partners, users
from creditdesk.services.common.pagination import Page
from creditdesk.web.api import fields, schemas
from creditdesk.web.api.deps import DB, CurrentActor
from creditdesk.web.api.jsonbody import DecimalJSONRoute
from creditdesk.web.api.responses import Out
from creditdesk.web.api.responses import Page as PageOut
from creditdesk.web.api.router import ApiRouter

router = ApiRouter(tags=["users"], route_class=DecimalJSONRoute)
FORBIDDEN = {403: {}}


class UserIn(schemas.In):
    email: str = Field(max_length=254, json_schema_extra={"format": "email",
                                                          "pattern": fields.NON_BLANK})
    role: str = Field("staff", json_schema_extra={"enum": list(users.ROLES)})
    password: str = Field(min_length=partners.MIN_PASSWORD, max_length=1024)


class UserOut(Out):
    """A user: ``role`` admin or staff; ``active`` false once deactivated."""

    id: str
    email: str
    role: str
    active: bool
    created_at: datetime


class UserPage(PageOut[UserOut]):
    pass


class ApiKeyOut(Out):
    api_key: str = Field(description="Shown once: it acts as the user, with the user's role")


@router.post("/users", status_code=201, response_model=UserOut, responses=FORBIDDEN)
def create_user(body: UserIn, db: DB, actor: CurrentActor) -> users.UserView:
    user_id = users.create_user(db, actor=actor, email=body.email, password=body.password,
                                role=body.role)
    return users.get_user(db, actor=actor, user_id=user_id)


@router.get("/users", response_model=UserPage, responses=FORBIDDEN)
def list_users(db: DB, actor: CurrentActor) -> Page[users.UserView]:
    return Page(users.list_users(db, actor=actor), None)


@router.post("/users/{user_id}/api-keys", status_code=201, response_model=ApiKeyOut,
             responses=FORBIDDEN)
def create_api_key(user_id: str, db: DB, actor: CurrentActor) -> dict[str, str]:
    return {"api_key": users.create_api_key(db, actor=actor, user_id=user_id)}
