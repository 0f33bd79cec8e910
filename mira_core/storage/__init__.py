"""Storage layer: the only place with SQL. Tables, engine set-up, migrations and repositories."""
