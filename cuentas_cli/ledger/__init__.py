"""The ledger: invoices, credit/debit notes, payments, the one balance rule, statuses, document rules,
exchange rates, and the accounts of clients and suppliers (their balances and invoices)."""
