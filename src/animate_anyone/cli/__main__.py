import sys

from animate_anyone.cli import main

sys.exit(main())
