"""``python -m infrastructure.local.china_customs --jwks-url URL [--port N]``: the simulator on its own."""

import sys

from infrastructure.local.china_customs.server import main

sys.exit(main())
