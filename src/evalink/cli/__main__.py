from evalink.cli import main

main()
