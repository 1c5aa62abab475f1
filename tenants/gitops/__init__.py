"""The GitOps review: what a pull request changes (git), what that does to tenants and pools,
who must approve it (CODEOWNERS), and the CI files that run the review in a registry repo."""
