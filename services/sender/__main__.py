"""`python -m services.sender`: run the sender service alone."""

from services.sender.app import create_app
from shared.serve import run_service
from shared.settings import SenderSettings

if __name__ == "__main__":
    run_service("sender", create_app, SenderSettings())
