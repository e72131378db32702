import sys
from pathlib import Path

from autograder.daemon.server import serve

serve(Path(sys.argv[1]), sys.argv[2])
