"""`python -m services.tracker`: run the tracker service alone."""

from services.tracker.app import create_app
from shared.serve import run_service
from shared.settings import TrackerSettings

if __name__ == "__main__":
    run_service("tracker", create_app, TrackerSettings())
