"""Reports: aging, metrics, top parties, cash flow: aggregates computed in SQL over the ledger."""
