"""A network device's report: keep its scrubbed configuration as a new version when its hash changed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from collector.plugins import HookSpec

if TYPE_CHECKING:
    from collector.services.ingest_context import IngestContext


def apply(ctx: IngestContext) -> None:
    if ctx.report.subject.kind != "network_device":
        return
    data = ctx.changed_sections.get("device")
    if not data or not data.get("config") or not data.get("config_hash"):
        return
    import hashlib

    from collector.services import audit
    from collector.services.netdevices import record_config

    text = data["config"]
    # The agent's hash is a claim; the stored text is what we show, so hash what we store.
    digest = hashlib.sha256(text.encode()).hexdigest()
    version, new = record_config(
        ctx.session,
        device_id=ctx.device.id or 0,
        config_hash=digest,
        text=text,
        report_id=str(ctx.report.report_id),
        seen_at=ctx.report.collected_at,
        os_version=data.get("os_version"),
    )
    if new and version.changed:
        audit.record(
            ctx.session,
            actor=f"agent:{ctx.agent.id}",
            action="netdevice.config_changed",
            target=ctx.device.hostname,
            detail={"device_id": ctx.device.id, "version": version.id, "previous": version.previous_id},
            sites=[ctx.device.site_id],
        )


PLUGIN = HookSpec("netdevices", apply, order=12)
