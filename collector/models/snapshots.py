"""Daily snapshots: what each site looked like at the end of each (Vietnamese) day.

The overview's 30- and 90-day trends read these rows. Written by ``collector.services.snapshots``
(the one module that owns snapshots: per-device snapshots and scheduled jobs will join it there).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, SQLModel

from collector.models.types import ts_field


class SiteDaily(SQLModel, table=True):
    __tablename__ = "site_daily"

    site_id: int = Field(foreign_key="site.id", primary_key=True, ondelete="CASCADE")
    day: date = Field(primary_key=True)  # the calendar day in Vietnam
    devices: int = 0
    passed: int = 0  # latest check results that passed, over the site's devices
    failed: int = 0
    open_critical: int = 0
    open_high: int = 0
    open_total: int = 0
    updated_at: datetime = ts_field()

    @property
    def percent(self) -> int | None:
        judged = self.passed + self.failed
        return round(100 * self.passed / judged) if judged else None


class SiteCurrent(SQLModel, table=True):
    """Each site's latest snapshot, one row per site: what the overview sorts and pages its communes by.

    Written with every ``site_daily`` row (``collector.services.snapshots``), so it always holds the
    newest day's figures; reading the newest row per site out of ``site_daily`` instead walks every
    site's history (3,321 sites × 90 days). ``percent`` is stored for the worst-first keyset.
    """

    __tablename__ = "site_current"

    site_id: int = Field(foreign_key="site.id", primary_key=True, ondelete="CASCADE")
    day: date
    devices: int = 0
    passed: int = 0
    failed: int = 0
    open_critical: int = 0
    open_high: int = 0
    open_total: int = 0
    percent: float | None = None  # 100 * passed / (passed + failed); None: nothing judged yet
    updated_at: datetime = ts_field()


class CityDaily(SQLModel, table=True):
    """The whole city's figures on a past day: every site's snapshot in force that day, added up.

    The overview's 90-day city chart reads these 90 rows instead of carrying 3,321 sites' snapshots
    forward (400,000 rows). Filled on first need for each finished day; a snapshot written for a past
    day, or a site merged or deleted, drops the rows it changes (``collector.services.snapshots``).
    """

    __tablename__ = "city_daily"

    day: date = Field(primary_key=True)
    passed: int = 0
    failed: int = 0
    sites: int = 0  # sites with a snapshot by then (0: no figure that day)
