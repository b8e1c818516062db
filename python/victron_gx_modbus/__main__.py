"""``python -m victron_gx_modbus``: the command line."""

import sys

from .cli import main

sys.exit(main())
