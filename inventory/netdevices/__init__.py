"""Network devices over SSH: a typed driver contract, one driver per platform, parsers and scrubbing.

Public entry points: ``inventory.netdevices.poll.poll_device`` (one device -> ``NetworkDeviceFacts``),
``inventory.netdevices.drivers.driver_class`` (platform -> driver), ``inventory.netdevices.contract``
(the contract and its errors). ``inventory.netdevices.facts`` is the report section (``facts.device``)
and the one list of platforms (``PLATFORMS``). paramiko and netmiko load only when a device is
actually polled.
"""
