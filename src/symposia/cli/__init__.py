"""The command line: a thin shell over :mod:`symposia.api`."""
