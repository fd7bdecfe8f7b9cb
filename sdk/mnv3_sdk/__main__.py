from mnv3_sdk.cli import main

main()
