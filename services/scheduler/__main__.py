"""`python -m services.scheduler`: run the scheduler service alone."""

from services.scheduler.app import create_app
from shared.serve import run_service
from shared.settings import SchedulerSettings

if __name__ == "__main__":
    run_service("scheduler", create_app, SchedulerSettings())
