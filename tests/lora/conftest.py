import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import make_adapters  # noqa: E402


@pytest.fixture(scope="session")
def adapters(tmp_path_factory):
    """The test adapters of make_adapters.py and their merged GGUFs, made once per session."""
    return make_adapters.make(tmp_path_factory.mktemp("lora"))
