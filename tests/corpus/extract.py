"""Rebuild commits.json from selection.txt: the author, committer and raw message of each listed
commit, read with git from local clones of the public repositories.

    python tests/corpus/extract.py MIRRORS_DIR > tests/corpus/commits.json

MIRRORS_DIR holds one clone per repository, at MIRRORS_DIR/<owner>+<name>/repo (a bare clone made
with `git clone --mirror https://github.com/<owner>/<name>` works). Nothing here runs in the tests;
they read commits.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SELECTION = Path(__file__).with_name("selection.txt")
# %x00 cannot occur in any field; %B is the raw message.
FORMAT = "%H%x00%an%x00%ae%x00%cn%x00%ce%x00%B"


def main(mirrors: Path) -> None:
    corpus = []
    for line in SELECTION.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        repo, sha, expected, why = line.split(" ", 3)
        clone = mirrors / repo.replace("/", "+") / "repo"
        out = subprocess.run(
            [
                "git",
                "-C",
                str(clone),
                "-c",
                "i18n.logOutputEncoding=UTF-8",
                "show",
                "-s",
                f"--format={FORMAT}",
                "--end-of-options",
                sha,
            ],
            check=True,
            capture_output=True,
        ).stdout.decode("utf-8")
        full_sha, author_name, author_email, committer_name, committer_email, message = out.split("\0", 5)
        corpus.append(
            {
                "repo": repo,
                "sha": full_sha,
                "source": "git",
                "url": f"https://github.com/{repo}/commit/{full_sha}",
                "expected": expected,
                "why": why,
                "commit": {
                    "sha": full_sha,
                    "author": {"name": author_name, "email": author_email},
                    "committer": {"name": committer_name, "email": committer_email},
                    # git show appends one newline after %B
                    "message": message[:-1] if message.endswith("\n\n") else message,
                },
            }
        )
    # Patches from a mailing list have no repository to read: taken as posted (see README.md).
    corpus += json.loads(SELECTION.with_name("mailing_list.json").read_text(encoding="utf-8"))
    json.dump(corpus, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
