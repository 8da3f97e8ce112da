"""Superset configuration for `make bi` / `ttw bi` (read through SUPERSET_CONFIG_PATH).

Everything Superset keeps lives under TTW_BI_HOME ($TTW_HOME/bi, set by ``ttw.bi``): the
SQLite metadata database and the generated SECRET_KEY (never in the repository). Nothing
phones home: no analytics pixel, no map tiles, no web fonts, no examples; the browser's
content security policy allows this server and nothing else.
"""

import os
from pathlib import Path

BI_HOME = Path(os.environ["TTW_BI_HOME"])

SECRET_KEY = (BI_HOME / "secret_key").read_text(encoding="utf-8").strip()
SQLALCHEMY_DATABASE_URI = f"sqlite:///{BI_HOME / 'superset.db'}?check_same_thread=false"

# no examples, no sample databases, no usage analytics
SUPERSET_LOAD_EXAMPLES = False
SCARF_ANALYTICS = False
MAPBOX_API_KEY = ""
THEME_FONT_URL_ALLOWED_DOMAINS: list[str] = []

# the menu's analytics pixel and every third-party host are refused by the browser
_CSP = {
    "base-uri": ["'self'"],
    "default-src": ["'self'"],
    "img-src": ["'self'", "blob:", "data:"],
    "worker-src": ["'self'", "blob:"],
    "connect-src": ["'self'"],
    "object-src": "'none'",
    "style-src": ["'self'", "'unsafe-inline'"],
    "font-src": ["'self'", "data:"],
    "script-src": ["'self'", "'strict-dynamic'"],
}
TALISMAN_ENABLED = True
TALISMAN_CONFIG = {
    "content_security_policy": _CSP,
    "content_security_policy_nonce_in": ["script-src"],
    "force_https": False,
    "session_cookie_secure": False,
}
CONTENT_SECURITY_POLICY_WARNING = False

# loopback only: no HTTPS in front, so cookies may travel over plain HTTP
SESSION_COOKIE_SECURE = False
SESSION_COOKIE_SAMESITE = "Lax"
WTF_CSRF_ENABLED = True

# in-process caches: nothing else to run
CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 300}
DATA_CACHE_CONFIG = CACHE_CONFIG
FILTER_STATE_CACHE_CONFIG = CACHE_CONFIG
EXPLORE_FORM_DATA_CACHE_CONFIG = CACHE_CONFIG
RATELIMIT_STORAGE_URI = "memory://"

# the dashboards read the warehouse as bi_reader: SELECT on marts only
PREVENT_UNSAFE_DB_CONNECTIONS = True
FEATURE_FLAGS = {"DASHBOARD_RBAC": False, "EMBEDDED_SUPERSET": False}
