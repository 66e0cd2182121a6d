"""Poll one device: detect its platform, log in, read facts and configuration, scrub, audit.

Never raises for a device's fault: whatever went wrong is in ``NetworkDeviceFacts.poll_errors``, and
whatever was read before it stays. The raw configuration lives only inside this function: the result
holds it scrubbed, plus the audit the agent drew from the raw text.
"""

from __future__ import annotations

import hashlib
import re
import time

from inventory.netdevices.contract import DetectError, DeviceError, DeviceTarget, Timeouts
from inventory.netdevices.detect import GENERIC_OPENSSH, platform_from_banner, read_banner
from inventory.netdevices.drivers import driver_class
from inventory.netdevices.facts import NetworkDeviceFacts, PollError
from inventory.netdevices.hostkeys import KnownHosts
from inventory.netdevices.platforms import platform_module
from inventory.netdevices.scrub import REMOVED


def detect_platform(target: DeviceTarget, timeouts: Timeouts) -> tuple[str, str, bool]:
    """(platform, banner, needs_probe). A generic OpenSSH banner is taken as Junos, to be confirmed."""
    banner = read_banner(target.host, target.port, timeouts.connect)
    platform = platform_from_banner(banner)
    if platform is not None:
        return platform, banner, False
    if GENERIC_OPENSSH.match(banner):
        return "juniper_junos", banner, True
    raise DetectError(
        f"{target.host}:{target.port}: SSH banner {banner!r} names no supported platform; "
        "set platform in the device list"
    )


def poll_device(
    target: DeviceTarget,
    password: str,
    *,
    known_hosts: KnownHosts,
    timeouts: Timeouts | None = None,
) -> NetworkDeviceFacts:
    timeouts = timeouts or Timeouts()
    started = time.monotonic()
    result = NetworkDeviceFacts(
        name=target.name, platform=None if target.platform == "auto" else target.platform
    )

    def hide(text: str) -> str:
        # Belt and braces: the password never appears in anything we keep, whatever a device echoes.
        return text.replace(password, REMOVED) if password and len(password) >= 3 else text

    def fail(exc: DeviceError) -> None:
        result.poll_errors.append(
            PollError(stage=exc.stage, message=hide(str(exc))[:2000], command=exc.command)
        )

    platform = target.platform
    probe = False
    driver = None
    raw_config: str | None = None
    try:
        if platform == "auto":
            platform, result.ssh_banner, probe = detect_platform(target, timeouts)
        module = platform_module(platform)
        result.platform = platform
        driver = driver_class(platform)(target, password, known_hosts=known_hosts, timeouts=timeouts)
        with driver:
            result.ssh_banner = driver.ssh_banner or result.ssh_banner
            result.host_key_fingerprint = driver.host_key_fingerprint
            if probe and not re.search(r"junos", driver.run("show version"), re.I):
                raise DetectError(
                    f"{target.host}:{target.port}: an OpenSSH server that is not Junos; set platform"
                )
            driver.get_facts()
            raw_config = driver.get_config()
    except DeviceError as exc:
        fail(exc)
    except ValueError as exc:  # an unknown platform name
        result.poll_errors.append(PollError(stage="detect", message=str(exc)))
    if driver is None:
        result.poll_seconds = round(time.monotonic() - started, 3)
        return result

    module = driver.module
    if driver.facts is not None:
        basic = driver.facts
        for field in (
            "hostname",
            "vendor",
            "model",
            "os_version",
            "serial_number",
            "uptime",
            "interface_list",
        ):
            setattr(result, field, getattr(basic, field))
        result.interfaces = driver.get_interfaces()
    result.vendor = result.vendor or driver.vendor
    config_command = module.config_command(driver.facts) if driver.facts else None
    result.raw_outputs = {
        cmd: hide(module.scrub(out)) for cmd, out in driver.outputs.items() if cmd != config_command
    }
    for warning in driver.parse_warnings:
        result.poll_errors.append(PollError(stage="parse", message=hide(warning)[:2000]))
    if raw_config is not None:
        if not raw_config.strip():
            result.poll_errors.append(PollError(stage="config", message="the configuration came back empty"))
        else:
            scrubbed = hide(module.scrub(raw_config))
            result.config = scrubbed
            result.config_hash = hashlib.sha256(scrubbed.encode()).hexdigest()
            try:
                result.audit = module.audit(raw_config, driver.outputs)
            except Exception as exc:  # a parser bug must not lose the backup
                result.poll_errors.append(
                    PollError(
                        stage="parse", message=f"configuration audit failed: {type(exc).__name__}: {exc}"
                    )
                )
    result.poll_seconds = round(time.monotonic() - started, 3)
    return result
