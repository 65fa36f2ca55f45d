"""`fallwatch web-password`: asks for the set-up page's password and prints its hash for web.password_hash."""

from __future__ import annotations

import argparse
import getpass
import sys

MIN_LENGTH = 8


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No arguments: the password is read from the terminal (or one line of stdin), never from argv."""


def main(args: argparse.Namespace) -> int:
    from edge.web.auth import hash_password

    if sys.stdin.isatty():
        password = getpass.getpass("Password for the set-up page: ")
        if getpass.getpass("Again: ") != password:
            print("fallwatch web-password: the two passwords differ", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < MIN_LENGTH:
        print(f"fallwatch web-password: the password must have at least {MIN_LENGTH} characters", file=sys.stderr)
        return 2
    print(f'password_hash = "{hash_password(password)}"')
    return 0
