"""Commands of the serve capability."""
