"""Rows link to their related rows; counts come from the list query, not one query per row."""

import pytest
from django.core.cache import cache
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from etlsite.workers import STATUS_KEY, worker_status
from pipelines.models import AnalysisResult, Pipeline, PipelineRun
from sources.models import DataSource
from staging.models import FileMetadata, ProcessingLog, StagingTable
from tests.factories import (
    AnalysisResultFactory,
    FileMetadataFactory,
    PipelineFactory,
    PipelineRunFactory,
    ProcessingLogFactory,
    StagingTableFactory,
)

pytestmark = pytest.mark.django_db(databases=["default", "staging"])


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def listed(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list}


def test_source_links_to_its_live_pipelines(admin_client, data):
    source = data["source"]
    second = PipelineFactory(data_source=source)
    PipelineFactory(data_source=source).soft_delete()
    PipelineFactory()  # another source's
    link = admin_url(Pipeline, "changelist") + f"?data_source__id__exact={source.pk}&amp;is_deleted__exact=0"

    for page in (admin_url(DataSource, "changelist"), admin_url(DataSource, "change", source.pk)):
        html = admin_client.get(page).text
        assert f'<a href="{link}">2 pipelines</a>' in html

    assert listed(admin_client, link.replace("&amp;", "&")) == {data["pipeline"].pk, second.pk}


def test_pipeline_links_to_its_source_and_runs(admin_client, data):
    pipeline = data["pipeline"]
    second_run = PipelineRunFactory(pipeline=pipeline)
    PipelineRunFactory()  # another pipeline's
    runs = admin_url(PipelineRun, "changelist") + f"?pipeline__id__exact={pipeline.pk}"

    html = admin_client.get(admin_url(Pipeline, "changelist")).text
    assert f'<a href="{runs}">2 runs</a>' in html
    assert f'<a href="{admin_url(DataSource, "change", data["source"].pk)}">Sales CSV file</a>' in html
    assert f'<a href="{runs}">2 runs</a>' in admin_client.get(admin_url(Pipeline, "change", pipeline.pk)).text

    assert listed(admin_client, runs) == {data["run"].pk, second_run.pk}


def test_run_links_to_its_pipeline_results_and_staging_rows(admin_client, data):
    run = data["run"]
    AnalysisResultFactory(pipeline_run=run)
    AnalysisResultFactory()  # another run's
    results = admin_url(AnalysisResult, "changelist") + f"?pipeline_run__id__exact={run.pk}"

    html = admin_client.get(admin_url(PipelineRun, "changelist")).text
    assert f'<a href="{results}">2 analysis results</a>' in html
    assert f'<a href="{admin_url(Pipeline, "change", data["pipeline"].pk)}">Sales processing</a>' in html
    assert len(listed(admin_client, results)) == 2

    html = admin_client.get(admin_url(PipelineRun, "change", run.pk)).text
    for model, key in ((ProcessingLog, "log"), (FileMetadata, "file"), (StagingTable, "table")):
        url = admin_url(model, "changelist") + f"?pipeline_run_id__exact={run.pk}"
        assert f'href="{url}"' in html
        assert listed(admin_client, url) == {data[key].pk}


def test_result_links_to_its_run(admin_client, data):
    run_url = admin_url(PipelineRun, "change", data["run"].pk)
    html = admin_client.get(admin_url(AnalysisResult, "changelist")).text
    assert f'<a href="{run_url}">Sales processing, run #{data["run"].pk}</a>' in html
    assert run_url in admin_client.get(admin_url(AnalysisResult, "change", data["result"].pk)).text


@pytest.mark.parametrize(("model", "key"), [(StagingTable, "table"), (FileMetadata, "file"), (ProcessingLog, "log")],
                         ids=["StagingTable", "FileMetadata", "ProcessingLog"])
def test_staging_rows_link_to_their_run_without_querying_the_metadata_database(admin_client, data, model, key):
    run_url = admin_url(PipelineRun, "change", data["run"].pk)
    worker_status()  # the header's count of waiting runs, read once for a few seconds: not this page's query
    with CaptureQueriesContext(connections["default"]) as default_queries:
        html = admin_client.get(admin_url(model, "changelist")).text
    assert f'<a href="{run_url}">#{data["run"].pk}</a>' in html
    assert not [q for q in default_queries.captured_queries if "pipeline_runs" in q["sql"]]
    assert run_url in admin_client.get(admin_url(model, "change", data[key].pk)).text


@pytest.mark.parametrize(("model", "factory"), [
    (DataSource, lambda: PipelineFactory().data_source),
    (Pipeline, lambda: PipelineRunFactory().pipeline),
    (PipelineRun, lambda: AnalysisResultFactory().pipeline_run),
    (AnalysisResult, AnalysisResultFactory),
    (StagingTable, lambda: StagingTableFactory(pipeline_run_id=1)),
    (FileMetadata, lambda: FileMetadataFactory(pipeline_run_id=1)),
    (ProcessingLog, lambda: ProcessingLogFactory(pipeline_run_id=1)),
], ids=lambda v: v.__name__ if isinstance(v, type) else "")
def test_changelist_queries_do_not_grow_with_rows(admin_client, db, model, factory):
    url = admin_url(model, "changelist")

    def count_queries():
        cache.delete(STATUS_KEY)  # the header's worker status: one query a page when not cached, both times
        with CaptureQueriesContext(connections["default"]) as q1, CaptureQueriesContext(connections["staging"]) as q2:
            assert admin_client.get(url).status_code == 200
        return len(q1) + len(q2)

    factory()
    few = count_queries()
    for _ in range(5):
        factory()
    assert count_queries() == few
