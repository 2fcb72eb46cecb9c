"""`run_pipeline`: a mistake on the command line is refused before any run exists (no failed run, no alert),
and the summary of a run that ended before its table was known says so instead of printing "?"."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from pipelines.models import Alert, PipelineRun, PipelineStatus
from sources.models import DataSource
from tests.factories import PipelineFactory

pytestmark = pytest.mark.django_db(databases=["default", "staging"], transaction=True)


@pytest.fixture
def upload_only(db):
    return PipelineFactory(name="zakazy_2024", configuration={}, data_source=DataSource.objects.create(
        name="Uploads", source_type="file", connection_config={}))


@pytest.mark.parametrize("sync", [True, False])
def test_an_upload_only_pipeline_without_file_is_refused_before_a_run_exists(upload_only, sync):
    args = ["run_pipeline", "zakazy_2024"] + (["--sync"] if sync else [])
    with pytest.raises(CommandError, match="reads uploaded files only") as refused:
        call_command(*args, verbosity=0)
    assert refused.value.returncode != 0
    assert not PipelineRun.objects.exists() and not Alert.objects.exists()


def test_a_deprecated_pipeline_is_refused_before_a_run_exists(upload_only):
    upload_only.status = PipelineStatus.DEPRECATED
    upload_only.save()
    with pytest.raises(CommandError, match="deleted or deprecated"):
        call_command("run_pipeline", "zakazy_2024", "--sync", verbosity=0)
    assert not PipelineRun.objects.exists()


def test_the_summary_names_no_table_when_none_is_known(settings, tmp_path, clickhouse):
    settings.ETL_FILE_ROOTS = [str(tmp_path)]
    PipelineFactory(name="missing", configuration={}, data_source=DataSource.objects.create(
        name="Missing", source_type="file", connection_config={"file_path": str(tmp_path / "missing.csv")}))
    for language, words in (("en", "a table not known yet"), ("ru", "таблицу, пока не известную")):
        out = StringIO()
        with translation.override(language), pytest.raises(CommandError):
            call_command("run_pipeline", "missing", "--sync", stdout=out, verbosity=1)
        assert words in out.getvalue() and "?" not in out.getvalue(), out.getvalue()
