"""`python -m services.scheduler`: run the scheduler service alone."""

from services.scheduler.app import create_app
from shared.serve import serve
from shared.settings import SchedulerSettings

if __name__ == "__main__":
    settings = SchedulerSettings()
    serve(
        create_app(settings),
        service="scheduler",
        host=settings.scheduler_host,
        port=settings.scheduler_port,
        settings=settings,
    )
