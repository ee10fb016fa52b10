"""mantis-render: one YAML profile per environment in, every file a deployment needs out."""

__version__ = "0.1.0"
