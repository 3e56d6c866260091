"""Commands of the evaluate capability."""
