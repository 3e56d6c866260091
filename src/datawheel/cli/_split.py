"""Commands of the split capability."""
