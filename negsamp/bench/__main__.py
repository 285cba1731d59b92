import sys

from negsamp.bench import main

sys.exit(main())
