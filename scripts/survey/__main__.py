import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from survey.main import main  # noqa: E402

sys.exit(main(sys.argv[1:]))
