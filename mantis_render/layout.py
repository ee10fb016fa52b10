"""Where a project keeps things (a light module: the command line reads it before anything else)."""

PROFILES_DIR = "profiles"
TEMPLATES_DIR = "templates"
DEFAULT_OUTPUT = "rendered"
REPORT_FORMATS = ("text", "json")
