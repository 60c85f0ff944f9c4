"""Exports: CSV, JSON, XLSX and PDF files of invoices and summaries, figures from the ledger and reports.

`exporter.export` is the entry point; `tabular` streams the rows and writes CSV/JSON, `xlsx` and
`pdf` write those formats, `summary` holds the report figures printed beside the invoices.
"""
