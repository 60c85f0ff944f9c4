"""Scenario modules: each exposes `run(ctx) -> list[Result]`."""

# Module names, in the order they run. Later issues add theirs here.
SCENARIOS = ["startup", "latency", "dashboard", "notify", "invoices", "padron", "importer", "exporter", "payments",
             "bankmatch", "ubl", "team", "companies", "api"]
