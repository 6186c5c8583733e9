"""The dashboard: a small single-page app for people, served same-origin by the gateway."""
