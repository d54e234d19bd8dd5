"""`make ui-check`: a headless browser does the user's tasks in the Dagster UI (see __main__)."""
