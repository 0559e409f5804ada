"""Shared by the deploy checks: collect every failed check, then report them
all at once (one line each) instead of stopping at the first."""
import sys

errors = []


def check(cond, what):
    if not cond:
        errors.append(what)
    return cond


def report(name, ok_message):
    for e in errors:
        print(f"{name}: {e}", file=sys.stderr)
    if not errors:
        print(f"{name}: {ok_message}")
    return 1 if errors else 0
