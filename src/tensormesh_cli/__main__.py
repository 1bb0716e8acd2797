from tensormesh_cli.main import main

main()
