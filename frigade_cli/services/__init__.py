"""Services: what each command does, with no CLI parsing and no rendering details."""
