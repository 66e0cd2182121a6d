"""Which device a report is about, and whose it is (docs/architecture.md, "Identity and tenancy").

A host is known by machine id + DMI serial + first physical MAC, and belongs to the agent that reports
it and to that agent's site:
- the agent's own devices (of its own site) come first: a report matching one of them updates it;
- a report matching a device bound to another agent never changes that device. It is a *claim*
  (``collector.models.identity``): the report goes to a new device of the reporting agent's own site,
  flagged by the claim, until an administrator merges, keeps apart or revokes
  (``collector.services.conflicts``). Later reports of that agent land on that device (it is its own),
  so two agents on one PC no longer take the device from each other in turn;
- a device of the agent's site whose agent is gone (deleted) is adopted by the reporting agent.
Cloned disk images share the machine id: when the id matches but the serial (or, lacking serials, the
MAC) differs, the report is about another PC: its own device, flagged as a clone, never merged.

A network device belongs to the site of the agent that polls it: ``subject.site`` may only name that
site, a site that keeps a device list (``ManagedNetDevice``) accepts only devices on it, and a device
another active agent of the site polls is refused (403): each agent reports its own devices only.
"""

from __future__ import annotations

from sqlalchemy import bindparam
from sqlmodel import Session, col, or_, select

from collector.models.core import Agent, Device, DeviceKind, Site
from collector.models.identity import ClaimKind, IdentityConflict
from collector.models.netdevices import ManagedNetDevice
from collector.models.types import utcnow
from collector.services import audit
from collector.services.errors import Forbidden
from inventory.report import Subject


def fit(column: str, value: str | None) -> str | None:
    """``value`` cut to the size of the Device column it is stored in.

    The wire contract leaves identity strings unbounded (a junk DMI serial must not cost a PC its
    reports); PostgreSQL refuses longer text with an error, so it is cut here, the same way on every
    report, and identity matching compares the cut values.
    """
    # SQLModel declares no __table__ (SQLAlchemy sets it when the class is made).
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


def matches(device: Device, machine_id: str | None, serial: str | None, mac: str | None) -> bool:
    """Whether ``device`` is the PC this identity describes (lenient where a side lacks a value)."""
    if machine_id and device.machine_id == machine_id:
        return _same_machine(device, serial, mac)
    if serial and device.serial == serial:
        if machine_id and device.machine_id:
            # Another machine id on the same hardware (a re-imaged PC): only when the MAC agrees too.
            return bool(mac) and device.mac == mac
        return not _differs(device.mac, mac)
    return False


# Built once: every report of a PC asks it (a statement built per call costs its cache key each time).
_OWN_HOSTS = (
    select(Device)
    .where(
        Device.kind == DeviceKind.HOST,
        Device.agent_id == bindparam("agent_id"),
        Device.site_id == bindparam("site_id"),
    )
    .order_by(col(Device.id))
)


def resolve_device(session: Session, *, agent: Agent, subject: Subject) -> Device:
    if subject.kind == DeviceKind.NETWORK_DEVICE.value:
        return _resolve_network_device(session, agent=agent, subject=subject)
    ident = subject.host
    machine_id = fit("machine_id", ident.machine_id if ident else None)
    serial = fit("serial", ident.serial if ident else None)
    mac = fit("mac", ident.mac if ident else None)
    hosts = select(Device).where(Device.kind == DeviceKind.HOST)

    own = session.exec(_OWN_HOSTS, params={"agent_id": agent.id, "site_id": agent.site_id}).all()
    for device in own:
        if matches(device, machine_id, serial, mac):
            return _touch(session, device, subject)
    if not machine_id and not serial and own and _same_machine(own[0], serial, mac):
        return _touch(session, own[0], subject)  # nothing to know it by but the agent that reports it

    conds = []
    if machine_id:
        conds.append(Device.machine_id == machine_id)
    if serial:
        conds.append(Device.serial == serial)
    others = session.exec(hosts.where(or_(*conds)).order_by(col(Device.id))).all() if conds else []
    others = [d for d in others if d not in own]
    for device in others:
        if not matches(device, machine_id, serial, mac):
            continue
        if device.agent_id is None and device.site_id == agent.site_id:
            # Its agent is gone (deleted, or moved away without it): this site's agent of this PC adopts it.
            device.agent_id = agent.id
            audit.record(
                session,
                actor=f"agent:{agent.id}",
                action="device.adopted",
                target=f"device:{device.id}",
                sites=[device.site_id],
            )
            return _touch(session, device, subject)
        return _claim(session, agent=agent, subject=subject, owner=device, ident=(machine_id, serial, mac))

    clone_of = next((d for d in [*own, *others] if machine_id and d.machine_id == machine_id), None)
    return _new_host(session, agent, subject, (machine_id, serial, mac), clone_of=clone_of)


Identity = tuple[str | None, str | None, str | None]  # machine id, serial, MAC (cut to the columns)


def _new_host(
    session: Session, agent: Agent, subject: Subject, ident: Identity, *, clone_of: Device | None = None
) -> Device:
    machine_id, serial, mac = ident
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


def _touch(session: Session, device: Device, subject: Subject) -> Device:
    # Only what differs is set: an attribute set to its own value still makes the device dirty, and
    # the ingest's flush then walks it for nothing (the common report changes none of them).
    if device.hostname != subject.hostname:
        device.hostname = subject.hostname
    ident = subject.host
    if ident is not None:
        serial = device.serial or fit("serial", ident.serial)
        if serial != device.serial:
            device.serial = serial
        mac = device.mac or fit("mac", ident.mac)
        if mac != device.mac:
            device.mac = mac
    session.add(device)
    return device


def _claim(
    session: Session,
    *,
    agent: Agent,
    subject: Subject,
    owner: Device,
    ident: Identity,
) -> Device:
    """Another agent's device has this identity: a flagged device of the claimant's site, and a claim."""
    machine_id, serial, mac = ident
    complete = all(ident) and (owner.machine_id, owner.serial, owner.mac) == ident
    kind = ClaimKind.MOVE if complete and owner.site_id != agent.site_id else ClaimKind.CONFLICT
    device = _new_host(session, agent, subject, ident)
    claim = IdentityConflict(
        kind=kind,
        device_id=owner.id,
        owner_agent_id=owner.agent_id,
        device_site_id=owner.site_id,
        claimant_agent_id=agent.id,
        claimant_site_id=agent.site_id,
        claimant_device_id=device.id,
        hostname=fit("hostname", subject.hostname) or "",
        machine_id=machine_id,
        serial=serial,
        mac=mac,
    )
    session.add(claim)
    session.flush()
    codes = {
        s.id: s.code
        for s in session.exec(select(Site).where(col(Site.id).in_({owner.site_id, agent.site_id})))
    }
    audit.record(
        session,
        actor=f"agent:{agent.id}",
        action="device.move_requested" if kind == ClaimKind.MOVE else "identity.conflict",
        target=f"device:{owner.id}",
        detail={
            "claim": claim.id,
            "device_site": codes.get(owner.site_id),
            "claimant_site": codes.get(agent.site_id),
            "claimant_device": device.id,
            "owner_agent": owner.agent_id,
            "machine_id": machine_id,
            "serial": serial,
            "mac": mac,
        },
        sites=[owner.site_id, agent.site_id],
    )
    return device


def _resolve_network_device(session: Session, *, agent: Agent, subject: Subject) -> Device:
    site = session.get(Site, agent.site_id)
    assert site is not None
    if subject.site and subject.site != site.code:
        raise Forbidden(
            "subject.site %(subject_site)s is not this agent's site %(site_code)s: a network device belongs to the site of the agent that polls it",  # noqa: E501  # noqa: E501
            subject_site=repr(subject.site),
            site_code=repr(site.code),
        )
    nd = subject.device
    name = fit("hostname", nd.name if nd else subject.hostname) or subject.hostname
    address = fit("address", nd.host if nd else None)
    platform = fit("platform", nd.platform if nd else None)
    nd_serial = fit("serial", nd.serial if nd else None)
    _check_device_list(session, site, name=nd.name if nd else subject.hostname, host=nd.host if nd else None)
    query = select(Device).where(Device.kind == DeviceKind.NETWORK_DEVICE, Device.site_id == site.id)
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
            site_id=site.id or 0,
            kind=DeviceKind.NETWORK_DEVICE,
            hostname=name,
            address=address,
            platform=platform,
            serial=nd_serial,
            agent_id=agent.id,
            first_seen_at=utcnow(),
        )
    else:
        if device.agent_id not in (None, agent.id):
            _hand_over(session, device=device, agent=agent, site=site)
        device.hostname = name
        device.serial = device.serial or nd_serial
        device.agent_id = agent.id
    session.add(device)
    session.flush()
    return device


def _check_device_list(session: Session, site: Site, *, name: str, host: str | None) -> None:
    """A site that keeps a device list at the collector accepts reports of the devices on it only."""
    listed = session.exec(
        select(ManagedNetDevice.name, ManagedNetDevice.host).where(ManagedNetDevice.site_id == site.id)
    ).all()
    if listed and not any(n == name or (host and h == host) for n, h in listed):
        raise Forbidden(
            "network device %(name)s (%(host)s) is not on the device list of site %(site_code)s; an administrator adds it to that list first",  # noqa: E501  # noqa: E501
            name=repr(name),
            host=host or "no address",
            site_code=site.code,
        )


def _hand_over(session: Session, *, device: Device, agent: Agent, site: Site) -> None:
    """Another agent polled this device: allowed only once that agent's key is revoked (or gone)."""
    poller = session.get(Agent, device.agent_id) if device.agent_id else None
    if poller is not None and poller.revoked_at is None:
        raise Forbidden(
            "network device %(device_hostname)s (%(device_address)s) of site %(site_code)s is polled by another agent (%(poller_hostname)s); an agent reports only its own devices: take it off that agent's device list and revoke its key to hand the device over",  # noqa: E501  # noqa: E501
            device_hostname=repr(device.hostname),
            device_address=device.address or "no address",
            site_code=site.code,
            poller_hostname=poller.hostname or poller.id,
        )
    audit.record(
        session,
        actor=f"agent:{agent.id}",
        action="netdevice.poller_changed",
        target=f"device:{device.id}",
        detail={"site": site.code, "previous_agent": device.agent_id, "agent": agent.id},
        sites=[site.id],
    )
