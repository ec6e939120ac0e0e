"""Host adapters: build the PR's input from where aigate runs (GitHub Actions, GitLab CI, a local
git hook) and write the decision in the host's own formats."""
