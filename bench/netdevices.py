"""Poll 100 simulated network devices with concurrency 20; print wall time and peak RSS.

    python bench/netdevices.py [--devices 100] [--concurrency 20]

The devices are in-process SSH servers (tests/inventory/netdevices/sshsim.py) replaying recorded output,
a mix of the four platforms (IOS and VRP over netmiko's interactive sessions, RouterOS and Junos over
exec channels). Server and client share this process and its CPU, so real devices poll no slower.
Target: <= 30 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "devices"))

from sshsim import SimDevice, host_key  # noqa: E402

from agent.config import load_settings  # noqa: E402
from agent.netdevices.poller import poll_devices  # noqa: E402

PROFILES = ["ios_c9200", "ios_weak", "vrp_ar6280", "routeros_l009", "routeros_hex_v6", "junos_srx300"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=20)
    args = ap.parse_args()

    key = host_key(0)  # one RSA key for all (generating 100 would dominate the set-up)
    devices = [SimDevice.from_profile(PROFILES[i % len(PROFILES)], key=key) for i in range(args.devices)]
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        lines = []
        for i, dev in enumerate(devices):
            lines += [
                "[[devices]]",
                f'name = "dev{i:03d}"',
                'host = "127.0.0.1"',
                f"port = {dev.port}",
                'platform = "auto"',
                'site = "BENCH"',
                f'username = "{dev.username}"',
                'password_env = "BENCH_DEVICE_PASSWORD"',
            ]
        (state / "devices.toml").write_text("\n".join(lines) + "\n")
        os.environ["BENCH_DEVICE_PASSWORD"] = devices[0].password
        settings = load_settings(None, state_dir=state)
        settings.netdevices.concurrency = args.concurrency

        started = time.monotonic()
        reports = poll_devices(settings, devices_file=state / "devices.toml")
        wall = time.monotonic() - started

    for dev in devices:
        dev.close()
    failed = [r.subject.device.name for r in reports if not r.facts.device or not r.facts.device.reachable]
    backed_up = sum(1 for r in reports if r.facts.device and r.facts.device.config_hash)
    per_platform: dict[str, int] = {}
    for r in reports:
        p = r.facts.device.platform if r.facts.device else "?"
        per_platform[p] = per_platform.get(p, 0) + 1
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    mix = ", ".join(f"{k} {v}" for k, v in sorted(per_platform.items()))
    print(f"devices polled:      {len(reports)} ({mix})")
    print(f"concurrency:         {args.concurrency}")
    print(f"configs backed up:   {backed_up}")
    print(f"failed:              {len(failed)} {failed[:5]}")
    print(f"wall time:           {wall:.1f} s (target <= 30 s)")
    print(f"peak RSS:            {peak_mib:.0f} MiB (simulated servers included)")
    return 0 if wall <= 30 and not failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
