def pytest_terminal_summary(terminalreporter):
    import test_conformance
    if test_conformance.STATS["compared"] or test_conformance.STATS["jinja2_errors"]:
        terminalreporter.write_line(test_conformance.pytest_terminal_summary_text())
