"""`python -m services.sender`: run the sender service alone."""

from services.sender.app import create_app
from shared.serve import serve
from shared.settings import SenderSettings

if __name__ == "__main__":
    settings = SenderSettings()
    serve(
        create_app(settings), service="sender", host=settings.sender_host, port=settings.sender_port, settings=settings
    )
