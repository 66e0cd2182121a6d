"""Ingest hooks: every module here declares ``PLUGIN = HookSpec(name, apply, order)``
(``collector.plugins``); ``apply(ctx: IngestContext) -> None``.

They run inside the ingest transaction, after the report, device, sections and results are stored,
in ``order``. The ingest service finds them through ``collector.plugins.load`` by package name, so it
does not import the hooks (which use the other services) and the hooks do not import it.
"""
