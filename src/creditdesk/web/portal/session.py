"""Which customer a request's portal session serves: read by the portal's pages and by the
error page (which shows the portal's navigation to a signed-in customer)."""

from __future__ import annotations

from fastapi import Request

from creditdesk.db.engine import Database
from creditdesk.services.access.portal_links import PortalCustomer
from creditdesk.services.read_models import portal
from creditdesk.web import sessions


def session_customer(request: Request, db: Database) -> PortalCustomer | None:
    """The customer this request's portal session serves, or None when not signed in."""
    st = sessions.state(request)
    if st is None or st.row is None or st.row.customer_id is None:
        return None
    partner = st.row.data.get("partner") or portal.partner_name(db, partner_id=st.row.partner_id)
    return PortalCustomer(st.row.partner_id, st.row.customer_id, str(st.row.data.get("name")),
                          str(partner))
