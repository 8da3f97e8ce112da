"""Superset's side of `ttw bi --no-serve`, run by ``.bi-venv/bin/python`` in one process
(each ``superset`` command loads the whole application again, some 20 s apiece):

    setup_superset.py BUNDLE.zip ADMIN_USER ADMIN_PASSWORD_FILE

migrates the metadata database, syncs the roles and permissions (``superset init``),
creates the admin user (or gives it the password in the file, when it differs), and
imports the dashboard bundle, overwriting what an earlier import made. The configuration
comes from SUPERSET_CONFIG_PATH (bi/superset_config.py).
"""

import sys
import time
import zipfile
from pathlib import Path


def main(bundle: Path, username: str, password_file: Path) -> None:
    started = time.perf_counter()
    from flask import g
    from flask_migrate import upgrade
    from superset.app import create_app
    from werkzeug.security import check_password_hash

    app = create_app()
    with app.app_context():
        from superset import appbuilder, db, security_manager
        from superset.commands.dashboard.importers.dispatcher import ImportDashboardsCommand
        from superset.commands.importers.v1.utils import get_contents_from_bundle

        upgrade()
        appbuilder.add_permissions(update_perms=True)
        security_manager.sync_role_definitions()
        db.session.commit()

        password = password_file.read_text(encoding="utf-8").strip()
        user = security_manager.find_user(username=username)
        if user is None:
            admin = security_manager.find_role("Admin")
            email = f"{username}@localhost"
            user = security_manager.add_user(username, "TTW", "Admin", email, admin, password=password)
            if not user:
                raise SystemExit(f"could not create Superset user {username}")
        elif not check_password_hash(user.password, password):
            security_manager.reset_password(user.id, password)
        db.session.commit()

        g.user = security_manager.find_user(username=username)
        with zipfile.ZipFile(bundle) as handle:
            contents = get_contents_from_bundle(handle)
        ImportDashboardsCommand(contents, overwrite=True).run()
        db.session.commit()
    print(f"superset metadata migrated, roles synced, dashboards imported in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))
