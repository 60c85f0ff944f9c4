"""Parties (clients and suppliers): the party service, lookup policy and the SUNAT padrón."""
