"""The web app: public search for officials, authenticated curation. Built by `create_app(settings)`."""


def create_app(settings, **kwargs):
    # Imported lazily so `python -m web.auth` does not load FastAPI and the search stack.
    from web.app import create_app as _create_app

    return _create_app(settings, **kwargs)


__all__ = ["create_app"]
