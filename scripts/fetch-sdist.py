#!/usr/bin/env python3
"""Downloads a package's source distribution (e.g. llama-cpp-python's) through pip's own index
settings and HTTP session, without building anything: `pip download --no-binary :all:` would
first build the package's metadata, which compiles its build backend. The index is whatever pip
is configured to use (PIP_INDEX_URL, pip.conf), else pip's default; no host is named here.

  python3 scripts/fetch-sdist.py PACKAGE VERSION OUT_FILE
"""
import os
import re
import sys
import urllib.parse

from pip._internal.configuration import Configuration
from pip._internal.models.index import PyPI
from pip._internal.network.session import PipSession


def index_url():
    if os.environ.get("PIP_INDEX_URL"):
        return os.environ["PIP_INDEX_URL"]
    config = Configuration(isolated=False)
    config.load()
    for key in ("global.index-url", ":env:.index-url", "install.index-url", "download.index-url"):
        try:
            return config.get_value(key)
        except Exception:
            pass
    return PyPI.simple_url


def main():
    package, version, out = sys.argv[1:4]
    session = PipSession()
    page_url = index_url().rstrip("/") + "/" + re.sub(r"[-_.]+", "-", package).lower() + "/"
    page = session.get(page_url, headers={"Accept": "text/html"})
    page.raise_for_status()
    name = re.sub(r"[-.]+", "_", package) + f"-{version}.tar.gz"
    hrefs = [h for h in re.findall(r'href="([^"]+)"', page.text) if h.split("#")[0].endswith("/" + name) or h.split("#")[0] == name]
    if not hrefs:
        sys.exit(f"{name} is not on the index page {page_url}")
    url = urllib.parse.urljoin(page_url, hrefs[0].split("#")[0])
    with session.get(url, stream=True) as r:
        r.raise_for_status()
        with open(out + ".part", "wb") as f:
            for chunk in r.iter_content(1 << 20):
                f.write(chunk)
    os.replace(out + ".part", out)


if __name__ == "__main__":
    main()
