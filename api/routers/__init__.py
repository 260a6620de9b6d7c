"""The endpoints, one router per area; `api.app.create_app` puts them together."""
