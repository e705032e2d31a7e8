#!/usr/bin/env python3
"""Checks with Python's huggingface_hub that a hub cache (one written by swift-vllm's VLLMHub)
is one it reads as its own: scan_cache_dir finds the repo without warnings, the revision's ref
and snapshot, and try_to_load_from_cache returns each file with the content of its blob.

    scripts/check-hub-cache.py CACHE_DIR ORG/NAME REVISION FILE...

Exits 1 with one line per problem. VLLMHubTests runs it on a cache downloaded from its fake hub.
"""
import hashlib
import os
import sys

from huggingface_hub import scan_cache_dir, try_to_load_from_cache


def main(cache, repo_id, revision, files):
    problems = []
    info = scan_cache_dir(cache)
    for warning in info.warnings:
        problems.append(f"scan_cache_dir warns: {warning}")
    repos = [r for r in info.repos if r.repo_id == repo_id and r.repo_type == "model"]
    if not repos:
        return problems + [f"scan_cache_dir does not list {repo_id} (it lists {[r.repo_id for r in info.repos]})"]
    repo = repos[0]
    by_ref = {ref: rev for rev in repo.revisions for ref in rev.refs}
    if revision in by_ref:
        snapshot = by_ref[revision]
    else:
        snapshot = next((rev for rev in repo.revisions if rev.commit_hash == revision), None)
        if snapshot is None:
            return problems + [f"no snapshot for {revision} (refs: {sorted(by_ref)})"]
    listed = {f.file_name for f in snapshot.files}
    for name in files:
        if os.path.basename(name) not in listed:
            problems.append(f"{name} is not in the snapshot's files {sorted(listed)}")
        path = try_to_load_from_cache(repo_id, name, cache_dir=cache, revision=revision)
        if not isinstance(path, str):
            problems.append(f"try_to_load_from_cache({name!r}) returned {path!r}")
            continue
        if os.path.realpath(path) != os.path.realpath(os.path.join(snapshot.snapshot_path, name)):
            problems.append(f"{name} resolves to {path}, outside snapshot {snapshot.snapshot_path}")
        blob = os.path.realpath(path)
        if os.path.dirname(blob) != os.path.realpath(os.path.join(repo.repo_path, "blobs")):
            problems.append(f"{name} links to {blob}, not into blobs/")
        etag = os.path.basename(blob)
        if len(etag) == 64:
            with open(path, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            if digest != etag:
                problems.append(f"{name}: blob {etag} holds content with sha256 {digest}")
    return problems


if __name__ == "__main__":
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    found = main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:])
    for problem in found:
        print(problem)
    sys.exit(1 if found else 0)
