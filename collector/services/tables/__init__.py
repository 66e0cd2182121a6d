"""The console's city-size tables (devices, findings, certificates, software, assets, audit): each a
``Table`` that builds its filtered query, sorts and pages it with ``collector.services.paging``, and
shapes a page of rows for the console, the API and the CSV/XLSX export alike."""
