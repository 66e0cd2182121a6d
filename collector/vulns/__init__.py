"""Known vulnerabilities: NVD and CISA KEV data, software-to-CPE mapping and matching.

The modules here are pure (no database, no HTTP server): ``versions`` compares version strings,
``cpe`` parses CPE 2.3 names, ``nvd``/``kev`` read the feeds' JSON, ``mapping`` turns an installed
program or a network device's OS into CPEs, ``matcher`` evaluates NVD configurations against them and
``fetch`` downloads the feeds. Storage and findings live in ``collector.services.vulns``.
"""
