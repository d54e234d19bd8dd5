"""Energy series' stores: processed Parquet on S3 and the read-back of what InfluxDB holds."""

from dagster import ConfigurableResource, EnvVar

from resources.energy_series.config import EnergySeriesConfig
from resources.energy_series.readback import SeriesReadbackResource


def energy_series_resources() -> dict[str, ConfigurableResource]:
    """The `energy_series_*` resource keys, configured from the environment."""
    return {
        "energy_series_config": EnergySeriesConfig(bucket=EnvVar("SERIES_BUCKET")),
        # The points check's wait for visibility; it reads through the `influxdb` resource (InfluxQL).
        "energy_series_readback": SeriesReadbackResource(),
    }
