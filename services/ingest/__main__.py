"""`python -m services.ingest`: run the ingest API alone."""

from services.ingest.app import create_app
from shared.serve import serve
from shared.settings import IngestSettings

if __name__ == "__main__":
    settings = IngestSettings()
    serve(
        create_app(settings), service="ingest", host=settings.ingest_host, port=settings.ingest_port, settings=settings
    )
