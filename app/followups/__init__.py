"""Follow-ups: time-based rules for lifecycle touches, revisit plans, quiet hours and calendars."""
