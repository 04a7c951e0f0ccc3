"""`python -m symposia` is the CLI."""

from symposia.cli.main import main

main()
