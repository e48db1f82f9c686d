from depaudit.cli import main

main()
