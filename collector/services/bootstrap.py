"""First-run set-up for ``wardwatch up``: a default site and an admin user."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from collector.models.core import Role, Site, User
from collector.services.passwords import one_time_password
from collector.services.sites import create_site
from collector.services.users import create_user

DEFAULT_SITE_CODE = "default"
DEFAULT_SITE_NAME = "Đơn vị mặc định"


@dataclass
class Bootstrap:
    site: Site
    admin_password: str | None  # set only when the admin was created now


def bootstrap(session: Session, *, admin_password: str | None) -> Bootstrap:
    site = session.exec(select(Site).order_by(Site.id)).first()
    if site is None:
        site = create_site(session, code=DEFAULT_SITE_CODE, name=DEFAULT_SITE_NAME)
    created_password = None
    if session.exec(select(User).limit(1)).first() is None:
        created_password = admin_password or one_time_password(username="admin")
        create_user(session, username="admin", password=created_password, role=Role.ADMIN, actor="up")
    return Bootstrap(site=site, admin_password=created_password)
