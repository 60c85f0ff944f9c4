"""Parties (clients and suppliers): the party service, lookup policy, the bulk refresh and the
SUNAT padrón. Nothing here reads the ledger: a party's balances are `ledger.accounts`."""
