from unrelease.cli import main

main()
