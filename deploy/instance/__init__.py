"""What the Dagster instance needs besides deploy/dagster.yaml: pool limits and the run launcher."""
