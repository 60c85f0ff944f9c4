"""The ledger: invoices, credit/debit notes, payments, the one balance rule, statuses, document rules, exchange rates."""
