"""Commands of the label capability."""
