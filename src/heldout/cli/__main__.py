from heldout.cli import console_main

console_main()
