"""Adopting an existing repository: its env files read as their readers read them (envfiles),
and turned into a catalogue and profiles that render the same values (importer)."""
