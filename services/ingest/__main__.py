"""`python -m services.ingest`: run the ingest API alone."""

from services.ingest.app import create_app
from shared.serve import run_service
from shared.settings import IngestSettings

if __name__ == "__main__":
    run_service("ingest", create_app, IngestSettings())
