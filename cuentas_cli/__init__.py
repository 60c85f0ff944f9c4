"""cuentas: accounts receivable and payable for Peruvian companies, at the command line."""

__version__ = "0.1.0"
