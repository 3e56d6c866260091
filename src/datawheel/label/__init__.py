"""Label quality: agreement, aggregation, label issues, weak supervision, active learning."""

__all__: list[str] = []
