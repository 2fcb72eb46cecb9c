"""Staging services: clean-up of expired tables, processing logs, file status transitions."""

from __future__ import annotations

import time
from datetime import timedelta

import pyarrow as pa
import pytest
from django.utils import timezone

from staging.models import FileMetadata, FileStatus, OperationType, ProcessingLog, ProcessingStatus, StagingTable
from staging.services import (
    file_status_set,
    processing_log_finish,
    processing_log_start,
    staging_cleanup_expired,
)
from staging.tasks import staging_cleanup_expired_task
from tests.factories import FileMetadataFactory, StagingTableFactory
from tests.staging.conftest import staging_tables


@pytest.mark.django_db(databases=["default", "staging"], transaction=True)
def test_cleanup_drops_expired_active_tables_only(make_writer):
    schema = pa.schema([("a", pa.string())])
    for name in ("stg_run_old", "stg_run_new", "stg_run_dropped"):
        writer = make_writer(schema, table_name=name)
        writer.append(pa.RecordBatch.from_pydict({"a": ["x"]}))
        writer.finish()
    now = timezone.now()
    StagingTable.objects.filter(table_name__in=["stg_run_old", "stg_run_dropped"]).update(
        expires_at=now - timedelta(minutes=1))
    StagingTable.objects.filter(table_name="stg_run_dropped").update(is_active=False)

    assert staging_cleanup_expired() == 1
    tables = staging_tables()
    assert "stg_run_old" not in tables
    assert {"stg_run_new", "stg_run_dropped"} <= tables  # an inactive row is not the clean-up's business
    assert not StagingTable.objects.get(table_name="stg_run_old").is_active
    assert StagingTable.objects.get(table_name="stg_run_new").is_active
    assert staging_cleanup_expired() == 0
    # `now` decides what has expired.
    assert staging_cleanup_expired(now=now + timedelta(days=8)) == 1
    assert "stg_run_new" not in staging_tables()


@pytest.mark.django_db(databases=["default", "staging"], transaction=True)
def test_cleanup_never_drops_a_table_that_is_not_a_staging_table():
    StagingTableFactory(table_name="file_metadata", schema_name="", expires_at=timezone.now() - timedelta(days=1))
    assert staging_cleanup_expired() == 1
    assert "file_metadata" in staging_tables()
    assert not StagingTable.objects.get(table_name="file_metadata").is_active


@pytest.mark.django_db(databases=["default", "staging"], transaction=True)
def test_cleanup_task_has_a_stable_name_and_calls_the_service(make_writer):
    assert staging_cleanup_expired_task.name == "staging.cleanup_expired"
    make_writer(pa.schema([("a", pa.string())]), table_name="stg_run_task", expires_in=timedelta(seconds=-1))
    assert staging_cleanup_expired_task.apply().get() == "1 expired staging tables dropped"
    assert "stg_run_task" not in staging_tables()


@pytest.mark.django_db(databases=["default", "staging"])
def test_processing_log_times_the_operation():
    log = processing_log_start(table_name="stg_run_3", operation_type=OperationType.LOAD, pipeline_run_id=3,
                               context={"attempt": 1})
    assert log.status == ProcessingStatus.IN_PROGRESS and log.started_at and log.finished_at is None
    time.sleep(0.05)
    processing_log_finish(log, status=ProcessingStatus.COMPLETED, records_processed=100, records_success=98,
                          records_failed=2)
    stored = ProcessingLog.objects.using("staging").get(pk=log.pk)
    assert stored.status == ProcessingStatus.COMPLETED
    assert (stored.records_processed, stored.records_success, stored.records_failed) == (100, 98, 2)
    assert stored.finished_at >= stored.started_at
    assert stored.processing_time_seconds == pytest.approx(
        (stored.finished_at - stored.started_at).total_seconds())
    assert 0.05 <= stored.processing_time_seconds < 5
    assert stored.execution_context == {"attempt": 1} and stored.pipeline_run_id == 3


@pytest.mark.django_db(databases=["default", "staging"])
def test_processing_log_takes_a_measured_time_and_an_error():
    log = processing_log_start(table_name="stg_run_3", operation_type=OperationType.VALIDATE, pipeline_run_id=3)
    processing_log_finish(log, status=ProcessingStatus.FAILED, records_processed=10, records_success=0,
                          records_failed=10, error_message="boom", processing_time_seconds=1.25)
    stored = ProcessingLog.objects.get(pk=log.pk)
    assert (stored.status, stored.error_message, stored.processing_time_seconds) == ("failed", "boom", 1.25)
    with pytest.raises(ValueError, match="cannot finish"):
        processing_log_finish(log, status=ProcessingStatus.PENDING, records_processed=0, records_success=0,
                              records_failed=0)


@pytest.mark.django_db(databases=["default", "staging"])
def test_a_file_moves_through_processing_with_timestamps():
    file = FileMetadataFactory(status=FileStatus.UPLOADED)
    before = timezone.now()
    file_status_set(file, FileStatus.PROCESSING)
    stored = FileMetadata.objects.get(pk=file.pk)
    assert stored.status == FileStatus.PROCESSING and stored.processing_started_at >= before
    assert stored.processing_finished_at is None
    file_status_set(file, FileStatus.FAILED, error_message="bad header")
    stored = FileMetadata.objects.get(pk=file.pk)
    assert stored.status == FileStatus.FAILED and stored.error_message == "bad header"
    assert stored.processing_finished_at >= stored.processing_started_at
    # a retry
    file_status_set(file, FileStatus.PROCESSING)
    file_status_set(file, FileStatus.PROCESSED, error_message="ignored")
    stored = FileMetadata.objects.get(pk=file.pk)
    assert (stored.status, stored.error_message) == (FileStatus.PROCESSED, "")
    assert stored.processing_finished_at >= stored.processing_started_at >= before
    assert file.status == FileStatus.PROCESSED


@pytest.mark.django_db(databases=["default", "staging"])
@pytest.mark.parametrize("old,new", [
    (FileStatus.UPLOADED, FileStatus.PROCESSED),
    (FileStatus.UPLOADED, FileStatus.FAILED),
    (FileStatus.PROCESSING, FileStatus.UPLOADED),
    (FileStatus.PROCESSING, FileStatus.PROCESSING),
    (FileStatus.DELETED, FileStatus.PROCESSING),
    (FileStatus.UPLOADED, "archived"),
])
def test_illegal_transitions_are_refused(old, new):
    file = FileMetadataFactory(status=old)
    with pytest.raises(ValueError, match="cannot go from"):
        file_status_set(file, new)
    assert FileMetadata.objects.get(pk=file.pk).status == old


@pytest.mark.django_db(databases=["default", "staging"])
def test_a_status_changed_by_another_process_is_refused():
    file = FileMetadataFactory(status=FileStatus.UPLOADED)
    FileMetadata.objects.filter(pk=file.pk).update(status=FileStatus.PROCESSING)  # another worker took it
    with pytest.raises(ValueError, match="changed meanwhile"):
        file_status_set(file, FileStatus.PROCESSING)
