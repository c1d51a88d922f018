"""The editor's desk: a web page over the database to review, edit and
collect quotes, with the audio at the second each was said.

``podpipe desk`` serves ``create_app`` with uvicorn on 127.0.0.1. Plain HTML
and CSS from Jinja2 templates, a little vanilla JavaScript for the keys and
drag and drop (``static/desk.js``); no JavaScript build step.
"""
from .app import create_app

__all__ = ["create_app"]
