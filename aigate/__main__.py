import sys

from aigate._entry import main

sys.exit(main())
