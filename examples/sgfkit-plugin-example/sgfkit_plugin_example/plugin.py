"""Hook implementations. Keep this module free of torch: ``sgfkit list`` imports it."""
from sgfkit import hookimpl


@hookimpl
def sgfkit_register_condition_encoders(register):
    register("region-colour", "sgfkit_plugin_example.region_colour:RegionColour",
             summary="mean RGB colour of a rectangular image region, in [0, 1]")
