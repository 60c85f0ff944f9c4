"""Reports: aging, metrics, cash flow, top parties and the dashboard: aggregates computed in SQL
over the ledger.

One module per report (`aging`, `metrics` with the summary, `cashflow`, `top`, `dashboard`), over
`open_balances` (the one scan of the open balances as of a date that aging, metrics and cash flow
fold) and `common` (kinds, amounts, option checks, small SQL helpers).
"""
