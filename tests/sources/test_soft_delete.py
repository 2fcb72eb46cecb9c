import pytest
from django.db import IntegrityError, transaction

from pipelines.models import Pipeline
from sources.models import DataSource
from tests.factories import DataSourceFactory, PipelineFactory


@pytest.mark.django_db
def test_default_manager_hides_deleted_rows_and_restore_brings_them_back():
    source = DataSourceFactory(name="crm")
    source.soft_delete()
    assert not DataSource.objects.filter(pk=source.pk).exists()
    deleted = DataSource.all_objects.get(pk=source.pk)
    assert deleted.is_deleted and deleted.deleted_at is not None
    deleted.restore()
    restored = DataSource.objects.get(pk=source.pk)
    assert not restored.is_deleted and restored.deleted_at is None


@pytest.mark.django_db
def test_queryset_soft_delete_and_restore():
    PipelineFactory.create_batch(3)
    assert Pipeline.objects.all().soft_delete() == 3
    assert Pipeline.objects.count() == 0 and Pipeline.all_objects.count() == 3
    assert Pipeline.all_objects.all().restore() == 3
    assert Pipeline.objects.count() == 3


@pytest.mark.django_db
def test_a_deleted_pipeline_still_resolves_from_its_runs():
    from tests.factories import PipelineRunFactory

    run = PipelineRunFactory()
    run.pipeline.soft_delete()
    run.pipeline.data_source.soft_delete()
    fresh = type(run).objects.get(pk=run.pk)
    assert fresh.pipeline.name == run.pipeline.name
    assert fresh.pipeline.data_source.is_deleted


@pytest.mark.django_db
def test_names_are_unique_among_live_rows_only():
    first = DataSourceFactory(name="erp")
    with pytest.raises(IntegrityError), transaction.atomic():
        DataSourceFactory(name="erp")
    first.soft_delete()
    DataSourceFactory(name="erp")
    assert DataSource.all_objects.filter(name="erp").count() == 2
