"""LAN scanning: interface or CIDR, ports, rate limit, safety caps."""
