"""dbt docs of a built warehouse: the catalog names every marts table with its columns,
the site opens offline, and `ttw docs serve` answers on loopback with the site alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from ttw.build import build
from ttw.dbt_docs import SITE_FILES, STATIC_PAGE, docs_dir, generate, make_server, serve_in_background
from ttw.errors import TTWError
from ttw.publish import publish
from ttw.quality import audit
from ttw.warehouse import connect, reset_layers
from ttw_dev.dataset import ingest_dataset

TTW = str(Path(sys.executable).with_name("ttw"))


@pytest.fixture(scope="module")
def site(settings, target, small_dataset):
    """The small dataset built, audited and published, then its docs generated."""
    reset_layers(target)
    assert ingest_dataset(target, small_dataset).ok
    build(settings, target)
    assert audit(settings, target).ok
    publish(settings, target)
    for name in (*SITE_FILES, STATIC_PAGE):  # none left over from an earlier build
        (docs_dir(settings) / name).unlink(missing_ok=True)
    folder = generate(settings, target)
    return folder, target


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_catalog_has_every_marts_table_with_its_columns(site):
    folder, target = site
    catalog, manifest = _json(folder / "catalog.json"), _json(folder / "manifest.json")
    with connect(target) as conn:
        published = conn.execute(
            "select table_name, array_agg(column_name::text order by ordinal_position) from information_schema.columns"
            " where table_schema = 'marts' group by 1"
        ).fetchall()
    documented = {
        node["metadata"]["name"]: node
        for node in catalog["nodes"].values()
        if node["metadata"]["schema"] == "marts_build"
    }
    assert len(published) > 20
    for table, columns in published:
        assert table in documented, table
        assert [c["name"] for c in sorted(documented[table]["columns"].values(), key=lambda c: c["index"])] == list(
            columns
        ), table
    region = documented["dim_region"]
    assert region["columns"]["parent_region_code"]["type"] == "text"
    assert region["metadata"]["type"] == "BASE TABLE"
    # the manifest carries the descriptions the YAML gives, and dbt's usage tracking is off
    model = manifest["nodes"]["model.ttw.dim_region"]
    assert "drill hierarchy" in model["description"]
    assert model["columns"]["country_code"]["description"].startswith("The top of the row's chain")
    assert manifest["metadata"]["send_anonymous_usage_stats"] is False


def test_the_site_files_are_written_and_the_static_page_carries_the_catalog(site, settings):
    folder, _ = site
    assert folder == settings.home_dir / "dbt" / "target"
    for name in SITE_FILES:
        assert (folder / name).stat().st_size > 0, name
    assert "<html" in (folder / "index.html").read_text(encoding="utf-8")[:2000].lower()
    static = (folder / STATIC_PAGE).read_text(encoding="utf-8")
    # the catalog and the manifest are inside it: it opens from disk, no server needed
    assert "rpt_center_performance" in static
    assert "parent_region_code" in static


def test_serve_answers_the_site_on_loopback_and_nothing_else(site):
    folder, _ = site
    server = make_server(folder, port=0)
    host, port = server.server_address[:2]
    assert host == "127.0.0.1"
    serve_in_background(server)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            assert response.status == 200
            assert response.read() == (folder / "index.html").read_bytes()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/catalog.json?cb=1", timeout=10) as response:
            assert "model.ttw.dim_region" in json.loads(response.read())["nodes"]
        for path in ("run_results.json", "compiled/", "../warehouse.secret", "graph.gpickle"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}", timeout=10)
            assert refused.value.code == 404, path
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(urllib.error.URLError, match="Connection refused"):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)


def test_serve_refuses_a_folder_without_a_site(tmp_path):
    with pytest.raises(TTWError, match="run `ttw docs generate` first"):
        make_server(tmp_path, port=0)


def test_the_command_line_generates_and_serves(site, settings, unused_port):
    env = {**os.environ, "TTW_HOME": str(settings.home_dir), "TTW_WAREHOUSE_PORT": str(settings.warehouse_port)}
    if settings.warehouse_url:
        env["TTW_WAREHOUSE_URL"] = settings.warehouse_url
    (docs_dir(settings) / "catalog.json").unlink()
    generated = subprocess.run([TTW, "docs", "generate"], capture_output=True, text=True, env=env, timeout=300)
    assert generated.returncode == 0, generated.stderr
    assert f"dbt docs in {docs_dir(settings)}" in generated.stdout
    assert (docs_dir(settings) / "catalog.json").is_file()
    served = subprocess.Popen(
        [TTW, "docs", "serve", "--port", str(unused_port)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert served.stdout.readline().strip() == f"dbt docs on http://127.0.0.1:{unused_port}/ (Ctrl-C stops)"
        with urllib.request.urlopen(f"http://127.0.0.1:{unused_port}/index.html", timeout=10) as response:
            assert response.status == 200
    finally:
        served.terminate()
        served.wait(timeout=10)
