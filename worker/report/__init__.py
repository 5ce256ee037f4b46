"""The programme report for its lead: a model counted from the calendars, and its renderers."""
