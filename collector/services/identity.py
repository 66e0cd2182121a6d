"""Which device a report is about (DESIGN §3).

A host is known by machine id + DMI serial + first physical MAC. Cloned disk images share the machine
id: when the id matches but the serial (or, lacking serials, the MAC) differs, the report is about a
different PC, so it gets its own device, flagged as a clone of the first one, never merged.
"""

from __future__ import annotations

from sqlmodel import Session, select

from collector.models.core import Agent, Device, DeviceKind, Site
from collector.models.types import utcnow
from inventory.report import Subject


def fit(column: str, value: str | None) -> str | None:
    """``value`` cut to the size of the Device column it is stored in.

    The wire contract leaves identity strings unbounded (a junk DMI serial must not cost a PC its
    reports); PostgreSQL refuses longer text with an error, so it is cut here, the same way on every
    report, and identity matching compares the cut values.
    """
    length = getattr(Device.__table__.c[column].type, "length", None)  # type: ignore[attr-defined]
    return value[:length] if value and length else value


def _differs(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and a != b


def _same_machine(device: Device, serial: str | None, mac: str | None) -> bool:
    if _differs(device.serial, serial):
        return False
    if device.serial and serial:
        return True
    return not _differs(device.mac, mac)


def resolve_device(session: Session, *, agent: Agent, subject: Subject) -> Device:
    if subject.kind == DeviceKind.NETWORK_DEVICE:
        return _resolve_network_device(session, agent=agent, subject=subject)
    ident = subject.host
    machine_id = fit("machine_id", ident.machine_id if ident else None)
    serial = fit("serial", ident.serial if ident else None)
    mac = fit("mac", ident.mac if ident else None)
    hosts = select(Device).where(Device.kind == DeviceKind.HOST)

    clone_of: Device | None = None
    if machine_id:
        same_id = session.exec(hosts.where(Device.machine_id == machine_id).order_by(Device.id)).all()
        for device in same_id:
            if _same_machine(device, serial, mac):
                return _touch(session, device, subject, agent)
        clone_of = same_id[0] if same_id else None
    else:
        # No machine id (a minimal OS): fall back to the serial, then to what this agent reported.
        if serial:
            found = session.exec(hosts.where(Device.serial == serial)).first()
            if found and not _differs(found.mac, mac):
                return _touch(session, found, subject, agent)
        found = session.exec(hosts.where(Device.agent_id == agent.id)).first()
        if found and _same_machine(found, serial, mac):
            return _touch(session, found, subject, agent)

    device = Device(
        site_id=agent.site_id,
        kind=DeviceKind.HOST,
        hostname=subject.hostname,
        machine_id=machine_id,
        serial=serial,
        mac=mac,
        agent_id=agent.id,
        clone_of_id=clone_of.id if clone_of else None,
    )
    session.add(device)
    session.flush()
    return device


def _touch(session: Session, device: Device, subject: Subject, agent: Agent) -> Device:
    device.hostname = subject.hostname
    device.agent_id = agent.id
    ident = subject.host
    if ident is not None:
        device.serial = device.serial or fit("serial", ident.serial)
        device.mac = device.mac or fit("mac", ident.mac)
    session.add(device)
    return device


def _resolve_network_device(session: Session, *, agent: Agent, subject: Subject) -> Device:
    site_id = agent.site_id
    if subject.site:
        site = session.exec(select(Site).where(Site.code == subject.site)).first()
        if site is not None:
            site_id = site.id or site_id
    nd = subject.device
    name = fit("hostname", nd.name if nd else subject.hostname) or subject.hostname
    address = fit("address", nd.host if nd else None)
    platform = fit("platform", nd.platform if nd else None)
    nd_serial = fit("serial", nd.serial if nd else None)
    query = select(Device).where(Device.kind == DeviceKind.NETWORK_DEVICE, Device.site_id == site_id)
    device = None
    if nd_serial:
        device = session.exec(query.where(Device.serial == nd_serial)).first()
    if device is None:
        device = (
            session.exec(query.where(Device.address == address, Device.platform == platform)).first()
            if address
            else None
        )
    if device is None:
        device = Device(
            site_id=site_id,
            kind=DeviceKind.NETWORK_DEVICE,
            hostname=name,
            address=address,
            platform=platform,
            serial=nd_serial,
            agent_id=agent.id,
            first_seen_at=utcnow(),
        )
    else:
        device.hostname = name
        device.serial = device.serial or nd_serial
        device.agent_id = agent.id
    session.add(device)
    session.flush()
    return device
