"""Exports: CSV, JSON, XLSX and PDF files of invoices and summaries, figures from the ledger and reports."""
