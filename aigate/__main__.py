import sys

from aigate._cli import main

sys.exit(main())
