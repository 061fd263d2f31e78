from predictworld import one_thread, pworld  # noqa: F401  (fixtures)
