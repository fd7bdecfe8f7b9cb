"""Jinja templates for the Android library and demo app (installed as ``mnv3_sdk.templates``)."""
