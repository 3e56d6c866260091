"""Commands of the release capability."""
