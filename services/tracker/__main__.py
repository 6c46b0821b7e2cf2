"""`python -m services.tracker`: run the tracker service alone."""

from services.tracker.app import create_app
from shared.serve import serve
from shared.settings import TrackerSettings

if __name__ == "__main__":
    settings = TrackerSettings()
    serve(
        create_app(settings),
        service="tracker",
        host=settings.tracker_host,
        port=settings.tracker_port,
        settings=settings,
    )
