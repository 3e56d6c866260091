"""Commands of the validate capability."""
