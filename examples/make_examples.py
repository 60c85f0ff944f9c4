"""Write the demo company's files into examples/ (the same bytes every time).

    python examples/make_examples.py            # rewrite them next to this script
    python examples/make_examples.py OUT_DIR    # or somewhere else

The rows come from cuentas_cli/ops/demo_data.py (seeded, so deterministic): about 40
clients and suppliers with valid (fictitious) RUCs, a year of sales and purchases up to
2026-06-15 with their payments, some overdue. `cuentas demo` imports these same files, and
tests/test_demo.py fails if the committed files and the generator ever disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

from cuentas_cli.ops import demo_data


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else Path(__file__).resolve().parent
    company = demo_data.build()
    for path in demo_data.write_all(folder, company):
        print(path)
    print(f"{sum(p.kind == 'cxc' for p in company.parties)} clients, {sum(p.kind == 'cxp' for p in company.parties)} "
          f"suppliers, {len(company.sales)} sales, {len(company.purchases)} purchases, "
          f"{sum(len(i.payments) for i in company.sales + company.purchases)} payments", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
