"""The Celery application. Configuration comes from Django settings (CELERY_*), tasks from each app."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "etlsite.settings")

app = Celery("etlsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

import etlsite.worker_heartbeat  # noqa: E402,F401  (connects the worker's heartbeat to its signals)
import etlsite.worker_priority  # noqa: E402,F401  (a worker yields the CPU to the web pages)
