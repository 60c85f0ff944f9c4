from cuentas_cli.app import run

run()
