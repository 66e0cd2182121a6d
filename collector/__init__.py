"""The collector: enroll, ingest, store, findings, scoring, inspections, publishing, web UI."""
