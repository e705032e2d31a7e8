# In place of vLLM's tests/conftest.py, which imports the whole of vLLM (and torch) to build
# in-process models: the server tests need none of its fixtures.
