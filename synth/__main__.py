"""Entry point: `/usr/bin/python3 -m synth --task tsc|ms --sequence flair|t2w --n N --out DIR`."""
import sys

from .cli import main

sys.exit(main())
