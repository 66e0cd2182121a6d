"""Network devices over SSH: a typed driver contract, one driver per platform, parsers and scrubbing.

Public entry points: ``inventory.devices.poll.poll_device`` (one device -> ``NetworkDeviceFacts``),
``inventory.devices.drivers.driver_class`` (platform -> driver), ``inventory.devices.contract`` (the
contract and its errors). paramiko and netmiko load only when a device is actually polled.
"""
