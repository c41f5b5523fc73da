import sys

from faasbox.cli.main import main

sys.exit(main())
