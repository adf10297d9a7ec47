"""python -m unrelease: the same as the unrelease command."""

from unrelease.cli import main

main()
