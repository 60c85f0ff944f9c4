"""The company's banks: its own accounts (shown where a client is asked to pay); later the
banks' statements and their matching to invoices."""
