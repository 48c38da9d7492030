"""The body of ``POST /integrations``: one shape per provider, told apart by ``provider``.

The OpenAPI document shows each provider's shape — its fields, which are required, what
they accept (E7) — as ``oneOf`` the models below. The request itself is read by one
permissive model, ``IntegrationIn``, and each provider's own validation
(``connectors/registry.py``) words the refusals ("is required to connect Sage Intacct"):
a Pydantic union would name fields ``sage_intacct.sender_id`` and speak for the provider.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, SecretStr, WithJsonSchema

from creditdesk.connectors import registry
from creditdesk.web.api import fields, schemas

NO_REGION = WithJsonSchema({"type": "null", "description": "Not used by this provider"})
CREDENTIAL = {"type": "string", "maxLength": 256, "pattern": fields.NON_BLANK}


def _credential(description: str, *, secret: bool = False) -> Any:
    schema = {**CREDENTIAL, "description": description}
    if secret:
        schema |= {"format": "password", "writeOnly": True}
    return Annotated[(SecretStr if secret else str) | None, WithJsonSchema(schema)]


class _Connect(BaseModel):
    """A provider's shape, for the document only."""

    model_config = ConfigDict(extra="forbid")


class QuickBooksOnlineIn(_Connect):
    model_config = ConfigDict(title="QuickBooks Online", extra="forbid",
                              json_schema_extra={"required": ["provider", "region"]})
    provider: Literal["quickbooks_online"]
    region: Annotated[str | None, WithJsonSchema(
        {"type": "string", "enum": ["us", "ca"],
         "description": "Where the QuickBooks Online company is: us or ca"})] = None


class XeroIn(_Connect):
    model_config = ConfigDict(title="Xero", extra="forbid")
    provider: Literal["xero"]
    region: Annotated[str | None, WithJsonSchema(
        {"anyOf": [{"type": "string", "enum": ["us"]}, {"type": "null"}],
         "description": "Xero organisations in the United States only (the default)"})] = None


class SageIntacctIn(_Connect):
    model_config = ConfigDict(title="Sage Intacct", extra="forbid", json_schema_extra={
        "required": ["provider", *registry.INTACCT_FIELDS]})
    provider: Literal["sage_intacct"]
    region: Annotated[str | None, NO_REGION] = None
    sender_id: _credential("Web Services sender ID") = None  # type: ignore[valid-type]
    sender_password: _credential(  # type: ignore[valid-type]
        "Web Services sender password (never returned)", secret=True) = None
    company_id: _credential("Company ID") = None  # type: ignore[valid-type]
    user_id: _credential("Web Services user ID") = None  # type: ignore[valid-type]
    user_password: _credential(  # type: ignore[valid-type]
        "That user's password (never returned)", secret=True) = None
    financial_entity: _credential(  # type: ignore[valid-type]
        "Optional: the bank account (FINANCIALENTITY) that ARPYMTs applying synced credit "
        "post to (Y11); this or undeposited_account is needed to write credit back") = None
    undeposited_account: _credential(  # type: ignore[valid-type]
        "Optional: the undeposited funds GL account those ARPYMTs post to instead") = None


class QuickBooksDesktopIn(_Connect):
    model_config = ConfigDict(title="QuickBooks Desktop", extra="forbid")
    provider: Literal["quickbooks_desktop"]
    region: Annotated[str | None, NO_REGION] = None


SHAPES = (QuickBooksOnlineIn, XeroIn, SageIntacctIn, QuickBooksDesktopIn)


def _one_of_the_shapes(schema: dict[str, Any]) -> None:
    schema.clear()
    schema.update(title="IntegrationIn", description="What each provider needs to connect",
                  oneOf=[shape.model_json_schema() for shape in SHAPES])


class IntegrationIn(schemas.In):
    """Any provider's fields; the provider's validation says which it needs and takes."""

    model_config = ConfigDict(json_schema_extra=_one_of_the_shapes)
    provider: Literal["quickbooks_online", "quickbooks_desktop", "sage_intacct", "xero"]
    region: Literal["us", "ca"] | None = None
    sender_id: str | None = None
    sender_password: SecretStr | None = None
    company_id: str | None = None
    user_id: str | None = None
    user_password: SecretStr | None = None
    financial_entity: str | None = None
    undeposited_account: str | None = None

    def provider_fields(self) -> dict[str, Any]:
        """The fields beyond provider and region; each provider validates its own."""
        out = {}
        for name in (*registry.INTACCT_FIELDS, *registry.INTACCT_WRITE_FIELDS):
            value = getattr(self, name)
            out[name] = value.get_secret_value() if isinstance(value, SecretStr) else value
        return out
