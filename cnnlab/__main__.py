"""``python -m cnnlab`` runs the command-line interface."""

import sys

from cnnlab.cli.main import main

sys.exit(main())
