"""Reports for planners: the replacement plan and the asset report as CSV, XLSX, PDF and JSON, and the
server-rendered SVG charts of the planning pages."""
