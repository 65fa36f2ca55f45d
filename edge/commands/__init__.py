"""One module per `fallwatch` subcommand (see edge/cli.py)."""
