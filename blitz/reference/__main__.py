import sys

from blitz.reference.cli import main

sys.exit(main())
