def pytest_terminal_summary(terminalreporter):
    import test_conformance
    terminalreporter.write_line(test_conformance.pytest_terminal_summary_text())
