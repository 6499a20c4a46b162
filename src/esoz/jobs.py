"""The job registry: every domain's periodic jobs, for the in-process worker (app.py) and `esoz worker` (cli.py).

Core runs jobs but knows no domain; this composition root, next to app.py and cli.py, names the domains'
`jobs(settings) -> list[PeriodicJob]` factories and hands their jobs to core.worker.
"""

from collections.abc import Callable

from esoz.analytics.jobs import jobs as analytics_jobs
from esoz.conclusions.jobs import jobs as conclusions_jobs
from esoz.core.worker import PeriodicJob, core_jobs
from esoz.events.jobs import jobs as events_jobs
from esoz.identity.jobs import jobs as identity_jobs
from esoz.notifications.jobs import jobs as notifications_jobs
from esoz.prescriptions.jobs import jobs as prescriptions_jobs
from esoz.referrals.jobs import jobs as referrals_jobs
from esoz.registry.jobs import jobs as registry_jobs
from esoz.settings import Settings
from esoz.signatures.jobs import jobs as signatures_jobs
from esoz.status.jobs import jobs as status_jobs

JOB_FACTORIES: tuple[Callable[[Settings], list[PeriodicJob]], ...] = (
    notifications_jobs,
    events_jobs,
    signatures_jobs,
    identity_jobs,
    prescriptions_jobs,
    referrals_jobs,
    registry_jobs,
    conclusions_jobs,
    status_jobs,
    analytics_jobs,
)


def all_jobs(settings: Settings) -> list[PeriodicJob]:
    """Core's own jobs, then each domain's, in the order above."""
    jobs = core_jobs()
    for factory in JOB_FACTORIES:
        jobs.extend(factory(settings))
    return jobs
