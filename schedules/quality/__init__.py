"""Quality: how well the service runs (issue 21) — measures, the Quality page, the
`quality_report` command and the CSV exports. Reads only, except the export audit trail."""
