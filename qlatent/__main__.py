"""``python -m qlatent`` is the ``qlatent`` command."""

import sys

from qlatent.cli import main

sys.exit(main())
