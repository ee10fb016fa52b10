"""For the people who write and run profiles: init (starter), new environments (new_profile),
docs/variables.md (docs), exec's environment (launch) and doctor's logins (probes)."""
