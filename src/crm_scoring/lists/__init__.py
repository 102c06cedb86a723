"""The day's retention and compensation lists: publishing and reading them."""

LIST_NAMES = ("retention_list", "compensation_list")
