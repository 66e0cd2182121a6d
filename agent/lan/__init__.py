"""LAN scanning: interface or CIDR, ports, rate limit, safety caps.

Entry points (importing this package loads nothing heavy and sends nothing): the declaration in
``agent.lan.capability``; ``agent.lan.runner.run_scan`` scans now in a child process and saves the
result, ``agent.lan.store.latest_scan`` returns it for the next report's ``facts.network_scan``.
"""
