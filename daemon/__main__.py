"""``python -m hypnic.daemon`` is the ``hypnic`` command."""

import sys

from hypnic.daemon.cli import main

sys.exit(main())
