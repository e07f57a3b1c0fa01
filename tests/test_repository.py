"""No secret is committed: the repository holds only the public development key (refused in
production) and keys that exist for tests."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[baprs]-[A-Za-z0-9-]{10,}\b"),
    "hard-coded Django secret": re.compile(r"""^\s*SECRET_KEY\s*=\s*["'](?!django-insecure-development)"""),
}


def tracked_text_files():
    names = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in names:
        path = ROOT / name
        if path.suffix in {".png", ".jpg", ".ico", ".woff", ".woff2"} or not path.is_file():
            continue
        yield name, path.read_text(errors="ignore")


def test_no_secret_is_committed():
    found = [
        f"{name}: {kind}"
        for name, text in tracked_text_files()
        for line in text.splitlines()
        for kind, pattern in SECRET_PATTERNS.items()
        if pattern.search(line)
    ]

    assert found == []
