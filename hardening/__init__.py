"""Hardening suites: each module is a command that exercises Worksite and prints figures.

Run one with `scripts/harden <name>`; the pytest suite runs bounded versions of the same
checks, so a regression fails CI even when nobody runs these by hand.
"""
