"""How a notification leaves the building: one class per channel (see ``channels``)."""
