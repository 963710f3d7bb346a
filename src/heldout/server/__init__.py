"""The dashboard: ``heldout serve`` shows the store's runs in a browser.

>>> from heldout.server import create_app
>>> app = create_app("sqlite:///.heldout/heldout.db")            # doctest: +SKIP

Pages are rendered on the server from the stored runs (runs, one run, its examples, the
history of an eval name, a comparison), with the same data as JSON under ``/api`` and the
OpenAPI schema at ``/openapi.json``. Like the report, the dashboard computes no statistic:
it shows what each run holds. It binds 127.0.0.1 unless given a token; see
:mod:`heldout.server._security` for what every response promises.
"""

from heldout.server._app import create_app

__all__ = ["create_app"]
