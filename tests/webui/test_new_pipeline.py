"""A new pipeline from an uploaded file (webui/views/newpipeline.py, pipelines/from_upload.py): the proposals
from the file's profile, one POST creating the source, the pipeline and the run on the file, field errors
that leave nothing behind, the permission, and the next file of the same shape through the existing pipeline
with its column mapping. On a real public file: the Palmer penguins (tests/data/public/README.md)."""

from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from pipelines.decisions import column_mapping_save
from pipelines.from_upload import ColumnChoice, NewPipeline, configuration_build, create_pipeline_from_upload
from pipelines.models import Pipeline, PipelineRun
from sources.models import DataSource
from staging.uploads import file_register
from tests.factories import DataSourceFactory, PipelineFactory
from tests.webui.conftest import UPLOADER, user_with
from webui.preview import file_preview

pytestmark = pytest.mark.django_db(databases=["default", "staging"])

PENGUINS = Path(__file__).resolve().parents[1] / "data" / "public" / "penguins-raw.csv"
CREATOR = (*UPLOADER, "sources.add_datasource", "pipelines.add_pipeline")


def upload(path: Path = PENGUINS, *, name: str = "penguins-raw.csv", by: str = "admin", content: bytes | None = None):
    from io import BytesIO

    stream = BytesIO(content) if content is not None else path.open("rb")
    with stream:
        return file_register(stream=stream, original_filename=name, uploaded_by=by).file


def page_url(file) -> str:
    return reverse("webui:upload-new-pipeline", args=[file.pk])


def proposed_post(client, file, **changes) -> dict:
    """What the browser would post when the person keeps every proposal (`changes` override fields)."""
    response = client.get(page_url(file))
    assert response.status_code == 200, response.content[:500]
    form, columns = response.context["form"], response.context["columns"]
    data = {key: form.initial[key] for key in ("name", "target_table", "null_values")}
    data.update({f"columns-{key}": value for key, value in columns.management_form.initial.items()})
    for index, column_form in enumerate(columns.forms):
        for key, value in column_form.initial.items():
            if value is True:
                data[f"columns-{index}-{key}"] = "on"
            elif value is not False:
                data[f"columns-{index}-{key}"] = value
    data.update(changes)
    return data


def column_index(client, file, name: str) -> int:
    columns = client.get(page_url(file)).context["columns"]
    return [form.column.name for form in columns.forms].index(name)


def counts():
    return DataSource.objects.count(), Pipeline.objects.count(), PipelineRun.objects.count()


# --- the proposals ---------------------------------------------------------------------------------------

def test_the_page_shows_how_the_file_reads_and_proposes_types_and_rules(admin_client):
    file = upload()
    response = admin_client.get(page_url(file))
    page = response.content.decode()
    assert "utf-8" in page and "plain ASCII" in page and "certain" in page
    assert "<code>NA</code>" in page and "344 (the whole file)" in page
    form, columns = response.context["form"], response.context["columns"]
    assert (form.initial["name"], form.initial["target_table"]) == ("penguins-raw", "penguins_raw")
    proposals = {f.column.name: f.initial for f in columns.forms}
    assert {name: p["type_name"] for name, p in proposals.items() if p["type_name"] != "string"} == {
        "sample_number": "integer", "clutch_completion": "boolean", "date_egg": "date",
        "culmen_length_mm": "float", "culmen_depth_mm": "float", "flipper_length_mm": "integer",
        "body_mass_g": "integer", "delta_15_n_o_oo": "float", "delta_13_c_o_oo": "float"}
    # Required where no value is missing (NA is NULL); the observed ranges are shown, not proposed as rules
    # (the next file's values lie beyond them).
    assert proposals["date_egg"]["required"] and not proposals["body_mass_g"]["required"]
    assert (proposals["body_mass_g"]["minimum"], proposals["body_mass_g"]["maximum"]) == ("", "")
    assert "2700 … 6300" in page and "2007-11-09 … 2009-12-01" in page
    assert proposals["island"]["allowed_values"].splitlines() == ["Biscoe", "Dream", "Torgersen"]
    assert proposals["individual_id"]["allowed_values"] == "" and not proposals["individual_id"]["unique"]
    assert counts() == (0, 0, 0), "the page itself creates nothing"


def test_a_column_whose_values_all_differ_is_proposed_unique_and_a_partial_sample_proposes_no_range(admin_client,
                                                                                                  monkeypatch):
    monkeypatch.setattr("pipelines.profiling.PROFILE_ROWS", 10)  # look at the first 10 rows only
    file = upload(name="codes.csv", content=b"code,amount\n" + b"".join(b"C%d,%d\n" % (i, i) for i in range(30)))
    proposals = {f.column.name: f.initial for f in admin_client.get(page_url(file)).context["columns"].forms}
    assert proposals["code"]["unique"] and proposals["amount"]["unique"]
    assert proposals["amount"]["minimum"] == "" and proposals["amount"]["maximum"] == ""


# --- creating --------------------------------------------------------------------------------------------

def test_one_post_creates_an_upload_only_source_the_pipeline_and_the_run_on_the_file(admin_client):
    file = upload()
    response = admin_client.post(page_url(file), proposed_post(admin_client, file))
    run = PipelineRun.objects.get()
    assert response.status_code == 302 and response.url == reverse("webui:run-detail", args=[run.pk])
    pipeline = run.pipeline
    assert pipeline.name == "penguins-raw" and pipeline.status == "active"
    assert pipeline.data_source.source_type == "file" and pipeline.data_source.connection_config == {}
    assert run.execution_context["file_path"] == file.file_path and run.execution_context["file_id"] == file.pk
    assert run.triggered_by == "admin"
    config = pipeline.configuration
    rules = config["validation_rules"]
    assert config["target"] == {"table": "penguins_raw"}
    assert config["null_values"] == ["NA", "N/A", "null", "NULL", "None", "NaN"]
    assert config["inferred"]["date_formats"] == ["%Y-%m-%d"]
    assert rules["data_types"]["date_egg"] == "date" and rules["data_types"]["species"] == "string"
    assert "sample_number" in rules["required_columns"] and "body_mass_g" not in rules["required_columns"]
    assert "min" not in rules and "max" not in rules  # ranges are the person's to type, not proposed
    assert rules["allowed_values"]["sex"] == ["FEMALE", "MALE"]
    follow = admin_client.get(response.url)
    assert "The pipeline penguins-raw was created" in follow.content.decode()


def test_the_persons_changes_are_what_is_saved(admin_client):
    file = upload()
    island = column_index(admin_client, file, "island")
    mass = column_index(admin_client, file, "body_mass_g")
    data = proposed_post(admin_client, file, name="Penguins", target_table="penguins",
                         null_values="NA, .", **{f"columns-{island}-allowed_values": "",
                                                  f"columns-{mass}-type_name": "float",
                                                  f"columns-{mass}-minimum": "2000",
                                                  f"columns-{mass}-maximum": "", f"columns-{mass}-required": "on"})
    assert admin_client.post(page_url(file), data).status_code == 302
    config = Pipeline.objects.get().configuration
    rules = config["validation_rules"]
    assert config["null_values"] == ["NA", "."] and config["target"] == {"table": "penguins"}
    assert "island" not in rules["allowed_values"]
    assert rules["data_types"]["body_mass_g"] == "float" and rules["min"]["body_mass_g"] == 2000.0
    assert "max" not in rules and "body_mass_g" in rules["required_columns"]


def test_the_run_loads_a_typed_table_with_na_as_null(admin_client, clickhouse):
    from pipelines.engine.runner import run_execute
    from pipelines.services import run_claim

    file = upload()
    admin_client.post(page_url(file), proposed_post(admin_client, file))
    run = PipelineRun.objects.get()
    assert run_claim(run=run)
    run = run_execute(run=run)
    assert run.status == "success", run.error_message
    assert run.execution_context["rows_read"] == 344 and run.execution_context.get("rows_quarantined", 0) == 0
    types = dict(clickhouse.query("SELECT name, type FROM system.columns WHERE database = {db:String} "
                                  "AND table = 'penguins_raw'", {"db": clickhouse.database}).result_rows)
    assert "Date" in types["date_egg"]
    assert "Int64" in types["body_mass_g"] and "Float64" in types["culmen_length_mm"]
    assert "Bool" in types["clutch_completion"] or "UInt8" in types["clutch_completion"]
    nulls, first = clickhouse.query("SELECT countIf(body_mass_g IS NULL), min(date_egg) FROM penguins_raw"
                                    ).result_rows[0]
    assert nulls == 2 and str(first) == "2007-11-09"


# --- refused choices: errors on the fields, nothing created ----------------------------------------------

@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"name": "bad\tname"}, "name", "invisible control character"),
    ({"name": "   "}, "name", "This field is required."),
    ({"target_table": "etl_audit_log"}, "target_table", "a table of the application's own schema"),
    ({"target_table": "Penguins Raw"}, "target_table", "lower-case Latin letters, digits and underscores"),
    ({"target_table": "data_local"}, "target_table", "storage tables"),
])
def test_a_refused_name_or_table_is_an_error_on_its_field(admin_client, changes, field, message):
    file = upload()
    response = admin_client.post(page_url(file), proposed_post(admin_client, file, **changes))
    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors[field]), response.context["form"].errors
    assert counts() == (0, 0, 0)


def test_a_taken_name_or_table_is_refused(admin_client):
    PipelineFactory(name="penguins", configuration={"target": {"table": "birds"}},
                    data_source=DataSourceFactory(source_type="file", connection_config={}))
    before = counts()
    file = upload()
    response = admin_client.post(page_url(file), proposed_post(admin_client, file, name="penguins"))
    assert "A pipeline named \"penguins\" exists already" in response.context["form"].errors["name"][0]
    response = admin_client.post(page_url(file), proposed_post(admin_client, file, target_table="birds"))
    assert "loads into birds already" in response.context["form"].errors["target_table"][0]
    assert counts() == before


@pytest.mark.parametrize(("column", "changes", "field", "message"), [
    ("species", {"minimum": "1"}, "minimum", "A range applies to numbers and dates"),
    ("body_mass_g", {"minimum": "heavy"}, "minimum", "Type a number"),
    ("body_mass_g", {"minimum": "7000", "maximum": "6000"}, "maximum", "The maximum is below the minimum."),
    ("date_egg", {"maximum": "11/12/2009"}, "maximum", "Type a date as YYYY-MM-DD."),
    ("culmen_length_mm", {"allowed_values": "1.5"}, "allowed_values", "apply to text and whole numbers"),
    ("species", {"type_name": "money"}, "type_name", "Select a valid choice."),
])
def test_a_refused_column_rule_is_an_error_on_the_columns_field(admin_client, column, changes, field, message):
    file = upload()
    index = column_index(admin_client, file, column)
    data = proposed_post(admin_client, file, **{f"columns-{index}-{key}": value for key, value in changes.items()})
    response = admin_client.post(page_url(file), data)
    errors = response.context["columns"].forms[index].errors
    assert any(message in error for error in errors[field]), errors
    assert counts() == (0, 0, 0)


def test_a_form_for_other_columns_is_refused(admin_client):
    file = upload()
    data = proposed_post(admin_client, file, **{"columns-TOTAL_FORMS": "3"})
    response = admin_client.post(page_url(file), data)
    assert "does not match the file's columns" in " ".join(response.context["columns"].non_form_errors())
    assert counts() == (0, 0, 0)


def test_errors_speak_the_users_language(admin_client, settings):
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"
    file = upload()
    response = admin_client.post(page_url(file), proposed_post(admin_client, file, target_table="etl_audit_log"))
    assert "собственной схемы приложения" in response.context["form"].errors["target_table"][0]
    assert "Новый конвейер" in response.content.decode() or "конвейер" in response.content.decode()


def test_a_rule_the_configuration_refuses_creates_nothing():
    """The service checks again what the form checked: a source made before the refusal is rolled back."""
    from django.contrib.auth.models import User

    user = User.objects.create_superuser("root", "root@example.com", "pw")
    file = upload(by="root")
    new = NewPipeline(name="Penguins", target_table="penguins", columns=[
        ColumnChoice(name="species", type_name="string", minimum=1)])
    with pytest.raises(ValidationError) as refused:
        create_pipeline_from_upload(file=file, user=user, new=new)
    assert "min and max apply to numbers" in " ".join(refused.value.message_dict["configuration"])
    assert counts() == (0, 0, 0)
    with pytest.raises(ValidationError) as refused:
        create_pipeline_from_upload(file=file, user=user, new=NewPipeline(
            name="Penguins", target_table="clickhouse_migrations", columns=[]))
    assert "target_table" in refused.value.message_dict and counts() == (0, 0, 0)


def test_the_configuration_says_what_was_chosen():
    config = configuration_build(NewPipeline(name="x", target_table="t", null_values=["NA"], columns=[
        ColumnChoice("id", "integer", required=True, unique=True, minimum=1),
        ColumnChoice("kind", "string", allowed_values=("a", "b")), ColumnChoice("note", "string")]))
    assert config == {"target": {"table": "t"}, "null_values": ["NA"], "validation_rules": {
        "data_types": {"id": "integer", "kind": "string", "note": "string"}, "required_columns": ["id"],
        "unique": [["id"]], "min": {"id": 1}, "allowed_values": {"kind": ["a", "b"]}}}


# --- permissions -----------------------------------------------------------------------------------------

def test_without_the_add_permissions_the_option_is_hidden_and_the_page_is_403(client, django_user_model):
    user = user_with(django_user_model, "uploader", *UPLOADER)
    client.force_login(user)
    file = upload(by="uploader")
    page = client.get(reverse("webui:upload")).content.decode()
    assert "a new pipeline from the file" not in page
    assert client.get(page_url(file)).status_code == 403
    assert client.post(page_url(file), {"name": "x", "target_table": "x"}).status_code == 403
    assert counts() == (0, 0, 0)
    with pytest.raises(PermissionDenied):
        create_pipeline_from_upload(file=file, user=user, new=NewPipeline(name="x", target_table="x", columns=[]))


def test_a_creator_sees_the_option_and_may_create(client, django_user_model):
    user = user_with(django_user_model, "creator", *CREATOR)
    client.force_login(user)
    page = client.get(reverse("webui:upload")).content.decode()
    assert 'value="new"' in page and "a new pipeline from the file" in page
    file = upload(by="creator")
    assert client.post(page_url(file), proposed_post(client, file)).status_code == 302
    assert Pipeline.objects.get().name == "penguins-raw"


def test_someone_elses_file_is_not_found(client, django_user_model):
    client.force_login(user_with(django_user_model, "creator", *CREATOR))
    file = upload(by="somebody")
    assert client.get(page_url(file)).status_code == 404


def test_an_unreadable_file_is_a_message_not_an_error_page(admin_client):
    file = upload(name="broken.parquet", content=b"not a parquet file at all")
    response = admin_client.get(page_url(file))
    assert response.status_code == 200 and "cannot be read" in response.content.decode()


# --- the next file: load into the existing pipeline ------------------------------------------------------

def test_the_next_file_loads_into_the_pipeline_and_renamed_headers_are_mapped(admin_client):
    file = upload()
    admin_client.post(page_url(file), proposed_post(admin_client, file))
    pipeline = Pipeline.objects.get()
    listed = admin_client.get(reverse("webui:upload")).content.decode()
    assert f'value="{pipeline.pk}"' in listed and "Load into an existing pipeline" in listed

    same = upload(name="penguins-2010.csv")
    preview = file_preview(file=same, pipeline=pipeline)
    assert preview.missing == [] and preview.rows_checked == 344 and preview.rows_failed == 0

    header, rest = PENGUINS.read_bytes().split(b"\n", 1)
    renamed = upload(name="penguins-renamed.csv",
                     content=header.replace(b"Body Mass (g)", b"Mass in grams").replace(b"Date Egg", b"Laid") + b"\n"
                     + rest)
    response = admin_client.get(reverse("webui:upload-preview", args=[renamed.pk]), {"pipeline": pipeline.pk})
    assert "expects columns this file lacks: date_egg, body_mass_g" in response.content.decode()
    response = admin_client.post(reverse("webui:upload-mapping", args=[renamed.pk]),
                                 {"pipeline": pipeline.pk, "source": ["mass_in_grams", "laid"],
                                  "target": ["body_mass_g", "date_egg"]})
    assert response.status_code == 200
    preview = file_preview(file=renamed, pipeline=Pipeline.objects.get())
    assert preview.missing == [] and preview.rows_failed == 0
    assert column_mapping_save(pipeline=pipeline, pairs=[]) == {"mass_in_grams": "body_mass_g", "laid": "date_egg"}


# --- the encoding ----------------------------------------------------------------------------------------

WESTERN = "name;city\nJosé;Málaga\nFrançois;Zürich\nRenée;Très\n".encode("cp1252")


def test_the_encoding_can_be_chosen_and_is_kept_for_the_pipelines_files(admin_client):
    file = upload(name="west.csv", content=WESTERN)
    page = admin_client.get(page_url(file), {"encoding": "cp1252"})
    assert "Très" in page.content.decode() and "set in the source" in page.content.decode()
    data = proposed_post(admin_client, file, encoding="cp1252")
    assert admin_client.post(page_url(file), data).status_code == 302
    assert Pipeline.objects.get().data_source.connection_config == {"encoding": "cp1252"}


def test_an_encoding_not_offered_is_ignored(admin_client):
    file = upload(name="west.csv", content=WESTERN)
    response = admin_client.get(page_url(file), {"encoding": "rot13"})
    assert response.status_code == 200 and response.context["encoding"] == ""
    assert admin_client.post(page_url(file), proposed_post(admin_client, file, encoding="hex")).status_code == 302
    assert Pipeline.objects.get().data_source.connection_config == {}
