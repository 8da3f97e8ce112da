"""The embedded server: start/stop/status, and clear errors for unusable setups."""

from __future__ import annotations

import pytest

from ttw import warehouse
from ttw.errors import TTWError
from ttw.settings import Settings


def test_session_warehouse_has_every_layer_schema(target):
    with warehouse.connect(target) as conn:
        schemas = {r[0] for r in conn.execute("select schema_name from information_schema.schemata")}
        version = conn.execute("show server_version_num").fetchone()[0]
    assert set(warehouse.SCHEMAS) <= schemas
    assert int(version) >= 150000


def test_embedded_lifecycle_start_is_idempotent_and_stop_stops(tmp_path, unused_port):
    settings = Settings(home=tmp_path / "home", warehouse_port=unused_port)
    try:
        first = warehouse.start_embedded(settings)
        again = warehouse.start_embedded(settings)
        assert first == again
        assert warehouse.embedded_running(settings)
        with warehouse.connect(first) as conn:
            assert conn.execute("select current_database()").fetchone()[0] == "ttw"
            settings_in_force = {
                name: conn.execute("select setting, unit from pg_settings where name = %s", (name,)).fetchone()
                for name in warehouse.EMBEDDED_SERVER_SETTINGS
            }
        # the server runs with the warehouse's settings, not PostgreSQL's defaults
        assert settings_in_force["work_mem"] == ("65536", "kB")
        assert settings_in_force["shared_buffers"] == ("131072", "8kB")
        assert settings_in_force["max_wal_size"] == ("8192", "MB")
        assert (settings.pgdata / "PG_VERSION").exists()
    finally:
        assert warehouse.stop_embedded(settings)
    assert not warehouse.embedded_running(settings)
    assert not warehouse.is_reachable(first)
    assert warehouse.stop_embedded(settings) is False


def test_data_directory_holding_other_files_is_refused(tmp_path, unused_port):
    settings = Settings(home=tmp_path, warehouse_port=unused_port)
    settings.pgdata.mkdir()
    (settings.pgdata / "notes.txt").write_text("not a database")
    with pytest.raises(TTWError, match=r"is not empty and is not a PostgreSQL data directory \(found notes.txt\)"):
        warehouse.start_embedded(settings)


def test_data_directory_that_is_a_file_is_refused(tmp_path, unused_port):
    settings = Settings(home=tmp_path, warehouse_port=unused_port)
    settings.pgdata.write_text("")
    with pytest.raises(TTWError, match="is a file, expected a directory"):
        warehouse.start_embedded(settings)


def test_unreachable_external_url_is_a_clear_error(tmp_path, unused_port):
    settings = Settings(home=tmp_path, warehouse_url=f"postgresql://etl:pw@127.0.0.1:{unused_port}/dw")
    with pytest.raises(TTWError, match=r"cannot reach the warehouse at postgresql://etl:\*\*\*@127\.0\.0\.1"):
        warehouse.ensure_warehouse(settings)


def test_embedded_commands_refuse_when_the_warehouse_is_external(tmp_path, unused_port):
    settings = Settings(home=tmp_path, warehouse_url="postgresql://etl@db.example/dw")
    with pytest.raises(TTWError, match="the warehouse is external"):
        warehouse.start_embedded(settings)
