"""The labelling service: REST API and web pages (FastAPI)."""

__all__: list[str] = []
